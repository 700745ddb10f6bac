"""Training in the app: the train panel (settings, start/stop, live curves), the runs browser (table,
overlaid curves, confusion matrix), the Coach's findings and the pieces they share."""

from neuralforge_desktop.ui.training.coach_panel import CoachPanel
from neuralforge_desktop.ui.training.confusion import ConfusionMatrixWidget, load_confusion
from neuralforge_desktop.ui.training.curves import CurvesWidget
from neuralforge_desktop.ui.training.event_pump import EventPump
from neuralforge_desktop.ui.training.runs_panel import RunsPanel
from neuralforge_desktop.ui.training.train_panel import TrainPanel

__all__ = ["CoachPanel", "ConfusionMatrixWidget", "CurvesWidget", "EventPump", "RunsPanel", "TrainPanel",
           "load_confusion"]
