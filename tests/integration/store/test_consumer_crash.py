"""A consumer SIGKILLed before it commits its offset gets the events again; none is lost.

Nothing lost: the ids handled across both processes cover every event of the log, and the
events the first process handled without committing are handed to the second one again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from tests.integration.store.helpers import settle
from weaver.store import Store

SCRIPT = Path(__file__).with_name("consumer_proc.py")
ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 12, 5, 14, 30, tzinfo=timezone.utc)
N = 200


def test_a_consumer_killed_before_committing_its_offset_gets_the_events_again(url: str, tmp_path: Path) -> None:
    handled = tmp_path / "handled.txt"
    with Store(url) as store:
        store.upgrade()
        written = store.log.append_many([store.log.event("tick", {"run_id": "r1", "timestamp": T0.isoformat(),
                                                                  "bar_index": n}) for n in range(N)])
        settle(store, written[-1].cursor)
        events = store.log.read(limit=N)
        all_ids = [e.id for e in events]

        first = subprocess.Popen([sys.executable, str(SCRIPT), url, "audit", str(handled), str(N - 1), "57"],
                                 cwd=ROOT)
        stalled = tmp_path / "handled.txt.stalled"
        deadline = time.monotonic() + 60
        while not stalled.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        before_restart = [int(line) for line in handled.read_text().split()]
        committed = store.log.offset("audit")

        second = subprocess.run([sys.executable, str(SCRIPT), url, "audit", str(handled), str(N - 1)], cwd=ROOT,
                                timeout=120)
        assert second.returncode == 0
        handled_ids = [int(line) for line in handled.read_text().split()]
        final_offset = store.log.offset("audit")
        head = store.log.head()

    assert first.returncode == -signal.SIGKILL
    assert before_restart == all_ids[:58] and committed == events[56].cursor
    assert set(handled_ids) == set(all_ids)  # nothing lost
    # at least once: the event handled but not committed is handed to the next process again
    assert [i for i in all_ids if handled_ids.count(i) != 1] == [all_ids[57]]
    assert handled_ids.count(all_ids[57]) == 2
    assert final_offset == head
