"""The run lifecycle as data: ``(status, action) -> status``, and the event each status is told by.

A run is created ``pending``; ``start`` makes it ``running``; it ends ``completed`` (its
bars ran out, or its strategy finished), ``stopped`` (someone asked), or ``error`` (it
failed, or its process died: the reason says which). A paper or live run can also be
``halted`` by a risk limit or the kill switch, and then stopped. A finished run never moves
again: a new run is created instead, so a run's record is what happened once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from weaver.core.enums import RunStatus
from weaver.core.errors import WeaverError

__all__ = ["RUN_EVENTS", "RUN_TRANSITIONS", "TERMINAL", "RunAction", "RunTransitionError", "next_status"]


class RunAction(StrEnum):
    """What can happen to a run."""

    START = "start"
    COMPLETE = "complete"
    STOP = "stop"
    FAIL = "fail"
    HALT = "halt"


S, A = RunStatus, RunAction

RUN_TRANSITIONS: Mapping[tuple[RunStatus, RunAction], RunStatus] = MappingProxyType({
    (S.PENDING, A.START): S.RUNNING,
    (S.RUNNING, A.COMPLETE): S.COMPLETED,
    (S.RUNNING, A.STOP): S.STOPPED,
    (S.RUNNING, A.FAIL): S.ERROR,
    (S.RUNNING, A.HALT): S.HALTED,
    (S.HALTED, A.STOP): S.STOPPED,
})
"""``(from_status, action) -> to_status``: the only source of the run lifecycle."""

TERMINAL: frozenset[RunStatus] = frozenset({S.COMPLETED, S.STOPPED, S.ERROR})
"""The statuses a run never leaves."""

RUN_EVENTS: Mapping[RunStatus, str] = MappingProxyType({
    S.PENDING: "run.created",
    S.RUNNING: "run.started",
    S.COMPLETED: "run.completed",
    S.STOPPED: "run.stopped",
    S.ERROR: "run.error",
    S.HALTED: "run.halted",
})
"""The event type that tells of a run reaching each status (DESIGN §5)."""

del S, A


class RunTransitionError(WeaverError):
    """Raise when an action is not legal for a run's current status.

    Parameters
    ----------
    status
        The run's status when the action came.
    action
        The refused action.
    run_id
        The run.
    """

    def __init__(self, status: RunStatus, action: RunAction, run_id: str = "") -> None:
        self.status = RunStatus(status)
        self.action = RunAction(action)
        self.run_id = run_id
        legal = sorted(a.value for (s, a) in RUN_TRANSITIONS if s == self.status)
        allowed = f"a {self.status.value} run can only {' or '.join(legal)}" if legal else \
            f"a {self.status.value} run is finished"
        super().__init__(f"cannot {self.action.value} run {run_id or '?'}: it is '{self.status.value}' ({allowed})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.action, self.run_id))


def next_status(status: RunStatus | str, action: RunAction | str, *, run_id: str = "") -> RunStatus:
    """Return the status a run in ``status`` moves to on ``action``.

    Raises
    ------
    RunTransitionError
        If the table has no such move.
    """
    current, act = RunStatus(status), RunAction(action)
    target = RUN_TRANSITIONS.get((current, act))
    if target is None:
        raise RunTransitionError(current, act, run_id)
    return target
