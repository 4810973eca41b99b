"""The service's startup heap is kept out of the garbage collector's full collections (app.freeze_startup_heap)."""

from __future__ import annotations

import gc
import weakref

from callcontrol import app


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_startup_garbage_is_collected_and_what_is_alive_is_frozen():
    """Garbage from the startup is freed first, the rest (modules, configuration) leaves the collector's walk."""
    cycle = _Node()
    gone = weakref.ref(cycle)
    del cycle
    try:
        frozen = app.freeze_startup_heap()
        assert gone() is None
        assert frozen > 1000 and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
