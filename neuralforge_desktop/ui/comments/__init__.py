"""Comments and reviews in the app: the comment-thread panel shown beside runs, model versions and graph
nodes, the canvas's comment badges and Comments dock, and the Review Queue (Team ▸ Review Queue…)."""

from neuralforge_desktop.ui.comments.thread_panel import CommentThreadPanel

__all__ = ["CommentThreadPanel", "open_review_queue_view"]


def open_review_queue_view(window):  # type: ignore[no-untyped-def]
    """Team ▸ Review Queue… (imported when first chosen)."""
    from neuralforge_desktop.ui.comments.review_queue import open_review_queue_view as open_view

    return open_view(window)
