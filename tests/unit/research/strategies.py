"""Small strategies for the research tests (importable by worker processes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from weaver.strategy.examples import SmaCross
from weaver.strategy.params import param


class FlakySma(SmaCross):
    """SmaCross whose ``init()`` raises for one value of ``fast`` (a combination that fails)."""

    bad: int = param(-1, doc="the fast value whose run raises")

    def init(self) -> None:
        if self.fast == self.bad:
            raise RuntimeError(f"fast={self.fast} is cursed")
        super().init()


class KillOnce(SmaCross):
    """SmaCross that kills its own worker process the first time it runs ``fast == victim``.

    The marker file records the kill, so the retry on a fresh worker runs normally.
    """

    victim: int = param(-1)
    marker: str = param("")

    def init(self) -> None:
        if self.fast == self.victim and self.marker and os.getpid() != int(os.environ.get("WEAVER_TEST_PARENT", "0")):
            mark = Path(self.marker)
            if not mark.exists():
                mark.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
        super().init()
