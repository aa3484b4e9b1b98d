"""Interactive notebook widgets: the strategy explorer panel."""

from weaver.widgets.explore import Explorer, explore

__all__ = ["Explorer", "explore"]
