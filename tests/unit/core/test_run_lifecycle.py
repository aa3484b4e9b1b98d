"""The run lifecycle is one table: pending -> running -> completed | stopped | error (| halted)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weaver.core import RunStatus
from weaver.core.runs import RUN_EVENTS, RUN_TRANSITIONS, TERMINAL, RunAction, RunTransitionError, next_status
from weaver.events.types import EVENT_TYPES, payload_model

S, A = RunStatus, RunAction


@pytest.mark.parametrize(("status", "action", "expected"), [
    (S.PENDING, A.START, S.RUNNING),
    (S.RUNNING, A.COMPLETE, S.COMPLETED),
    (S.RUNNING, A.STOP, S.STOPPED),
    (S.RUNNING, A.FAIL, S.ERROR),
    (S.RUNNING, A.HALT, S.HALTED),
    (S.HALTED, A.STOP, S.STOPPED),
])
def test_the_legal_moves(status: RunStatus, action: RunAction, expected: RunStatus) -> None:
    assert next_status(status, action) is expected


@pytest.mark.parametrize(("status", "action"), [
    (S.RUNNING, A.START), (S.COMPLETED, A.START), (S.STOPPED, A.START), (S.ERROR, A.START),
    (S.PENDING, A.STOP), (S.COMPLETED, A.STOP), (S.ERROR, A.STOP),
    (S.PENDING, A.COMPLETE), (S.STOPPED, A.COMPLETE), (S.ERROR, A.FAIL),
])
def test_a_move_outside_the_table_names_the_run_its_status_and_the_action(status: RunStatus,
                                                                         action: RunAction) -> None:
    with pytest.raises(RunTransitionError) as caught:
        next_status(status, action, run_id="r-1")

    error = caught.value
    assert (error.status, error.action, error.run_id) == (status, action, "r-1")
    assert f"'{status.value}'" in str(error) and action.value in str(error) and "r-1" in str(error)


def test_finished_runs_never_move_again() -> None:
    assert TERMINAL == {S.COMPLETED, S.STOPPED, S.ERROR}
    assert not [key for key in RUN_TRANSITIONS if key[0] in TERMINAL]


def test_each_status_a_run_moves_to_has_its_event_type_with_that_status() -> None:
    targets = set(RUN_TRANSITIONS.values())

    assert set(RUN_EVENTS) == targets | {S.PENDING}
    for status, event_type in RUN_EVENTS.items():
        assert event_type in EVENT_TYPES
        assert payload_model(event_type).model_fields["status"].default == status.value


@given(st.lists(st.sampled_from(list(RunAction)), max_size=12))
def test_no_sequence_of_actions_reaches_an_illegal_state(actions: list[RunAction]) -> None:
    status = S.PENDING
    seen = [status]
    for action in actions:
        try:
            status = next_status(status, action)
        except RunTransitionError:
            continue
        seen.append(status)

    # a run leaves pending once, and never returns to it; once finished it stays put
    assert seen.count(S.PENDING) == 1
    finished = [i for i, s in enumerate(seen) if s in TERMINAL]
    assert not finished or finished[0] == len(seen) - 1
