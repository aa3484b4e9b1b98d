"""A consumer process for the crash test: handles events, records each in a file, then commits its offset.

Usage: python consumer_proc.py URL CONSUMER HANDLED_FILE LAST_BAR_INDEX [STALL_AT]

Each handled event's id is appended to HANDLED_FILE (flushed and fsynced) *before* the
offset is committed. With STALL_AT, the consumer stalls after handling the event of that bar
index and before committing it, having created HANDLED_FILE.stalled: a SIGKILL then leaves an
event handled but not committed, which the next consumer must get again.
"""

from __future__ import annotations

import os
import sys
import time

from weaver.store import Store


def main() -> None:
    url, consumer, handled_path, last = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    stall_at = int(sys.argv[5]) if len(sys.argv) > 5 else None
    with Store(url, poll_interval=0.05) as store, open(handled_path, "a") as handled:

        def handle(event) -> None:
            handled.write(f"{event.id}\n")
            handled.flush()
            os.fsync(handled.fileno())
            if event.payload["bar_index"] == stall_at:  # between handling an event and committing its offset
                open(f"{handled_path}.stalled", "w").close()
                time.sleep(120)

        store.log.consume(consumer, handle, stop=lambda event: event.payload["bar_index"] == last)


if __name__ == "__main__":
    main()
