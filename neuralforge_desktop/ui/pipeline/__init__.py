"""The Pipeline view: deployment pipeline runs as a live stage diagram (see core/pipeline)."""

from neuralforge_desktop.ui.pipeline.diagram import StageBox, StageDiagram
from neuralforge_desktop.ui.pipeline.view import PipelineView, open_pipeline_view

__all__ = ["PipelineView", "StageBox", "StageDiagram", "open_pipeline_view"]
