"""Interpreter tuning for the processes Weaver starts and owns, and for no other.

A library call leaves the user's interpreter as it found it (DESIGN §2), so a backtest in a
notebook never touches the garbage collector. A process Weaver starts for its own work (a
sweep's pool worker, the ``weaver`` command) may run it less often: the bar loop allocates
many small objects (orders, events, fills) that reference counting frees or the result keeps,
and a young collection every 700 allocations, over a heap holding the bars, costs several
percent of a busy run. This is the one place that does it.
"""

from __future__ import annotations

import gc

#: allocations between young collections in an owned process (CPython's default is 700)
YOUNG_THRESHOLD = 50_000


def tune_owned_process() -> None:
    """Collect the youngest generation every ``YOUNG_THRESHOLD`` allocations, in this process.

    Call it once, early, in a process Weaver started for its own work, never from a library
    call. Cycles are still collected, only less often.
    """
    first, *older = gc.get_threshold()
    gc.set_threshold(max(first, YOUNG_THRESHOLD), *older)


def freeze_what_is_loaded() -> None:
    """Leave everything that exists now (modules, the bars) out of later collections' scans.

    For an owned worker after it loaded its job and its bars, which live as long as it does.
    No collection first: a worker forked from a notebook's kernel inherits its whole heap,
    which would take a fifth of a second to scan, for garbage that costs only memory.
    """
    gc.freeze()
