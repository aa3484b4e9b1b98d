"""The event stream and the tail on a real server, on SQLite and PostgreSQL (DESIGN §5, §6).

Events are appended by a test-side :class:`weaver.store.Store` on the server's own database,
as a backtest in another process would; the stream must hand them on with ``id:`` = cursor,
resume exactly after a ``Last-Event-ID`` (also across a restart), refuse an id it cannot
honour, filter, send heartbeats, fan out to every client, let a stalled client go, and leave
no task behind a closed connection.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from tests.integration.api.server import TOKEN, Server, make_server
from tests.integration.api.sse import SseStream
from tests.integration.store.conftest import pg_database
from weaver.events import decode_cursor, new_event
from weaver.store import Store

T0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)
HEARTBEAT = 0.4
QUEUE = 200
SEND_TIMEOUT = 2.0


@dataclass
class Live:
    """A running server and a store on its database."""

    server: Server
    store: Store

    def append(self, run_id: str, n: int = 1, type: str = "tick", **meta: Any) -> list[str]:
        """Append ``n`` events of run ``run_id``, one per transaction; return their cursors."""
        return [self.store.log.append(type, payload(type, run_id, i), run_id=run_id, **meta).cursor or ""
                for i in range(n)]

    def append_batch(self, run_id: str, n: int, type: str = "tick") -> list[str]:
        """Append ``n`` events of run ``run_id`` in one transaction; return their cursors."""
        events = [new_event(type, payload(type, run_id, i), run_id=run_id) for i in range(n)]
        return [event.cursor or "" for event in self.store.log.append_many(events)]

    def cursors(self, after: str, **filters: Any) -> list[str]:
        """Return the cursors of every event after ``after``, as the log reads them."""
        found: list[str] = []
        while events := self.store.log.read(after, 1000, **filters):
            found += [event.cursor or "" for event in events]
            after = found[-1]
        return found

    def readable(self, cursor: str) -> None:
        """Wait until the log's head is at ``cursor`` or past it: on a PostgreSQL cluster that other
        sessions write to, a committed event is read only once every older transaction has ended."""
        deadline = time.monotonic() + 10
        while decode_cursor(self.store.log.head()) < decode_cursor(cursor):
            assert time.monotonic() < deadline, f"{cursor} is still held back"
            time.sleep(0.01)

    def stats(self) -> dict[str, Any]:
        with self.server.client() as client:
            return client.get("/api/v1/events/stats").raise_for_status().json()


def payload(type: str, run_id: str, i: int) -> dict[str, Any]:
    if type == "tick":
        return {"run_id": run_id, "timestamp": T0, "bar_index": i}
    if type == "run.error":  # a long one: a few thousand fill the socket's buffers
        return {"run_id": run_id, "reason": f"{i}: " + "x" * 8000}
    return {"run_id": run_id}


def new_run() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server per database for the module, its heartbeat, queue and send timeout made short."""
    home = tmp_path_factory.mktemp(f"events-{request.param}")
    urls = iter([None]) if request.param == "sqlite" else pg_database()
    for url in urls:
        server = make_server(home, url, WEAVER_SSE_HEARTBEAT=str(HEARTBEAT), WEAVER_SSE_QUEUE=str(QUEUE),
                             WEAVER_SSE_SEND_TIMEOUT=str(SEND_TIMEOUT)).start()
        store = Store(url or f"sqlite+aiosqlite:///{home / 'weaver.db'}", poll_interval=0.2)
        try:
            yield Live(server, store)
        finally:
            store.close()
            server.stop()


def error_of(stream: SseStream | httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert stream.status == status if isinstance(stream, SseStream) else stream.status_code == status
    body = stream.json()
    assert body["code"] == code and body["message"] and body["correlation_id"]
    assert set(body) == {"code", "message", "details", "correlation_id", "timestamp"}
    return body


def test_events_arrive_with_their_cursor_as_id_and_their_envelope_as_data(live: Live) -> None:
    run = new_run()
    before = live.append(run, 2)  # committed before the client connects: not sent, the stream starts at the head
    live.readable(before[-1])

    with SseStream(live.server) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store" and stream.headers["x-correlation-id"]
        written = [live.store.log.append("run.started", {"run_id": run}, run_id=run, correlation_id="c-1",
                                         causation_id="k-1"),
                   live.store.log.append("tick", payload("tick", run, 0), run_id=run)]
        frames = stream.events(2)

    assert before[-1] not in [frame.id for frame in frames]
    assert [frame.id for frame in frames] == [event.cursor for event in written]
    assert [frame.event for frame in frames] == ["run.started", "tick"]
    first = frames[0].envelope
    assert first == {"id": written[0].id, "type": "run.started", "version": 1, "run_id": run, "correlation_id": "c-1",
                     "causation_id": "k-1", "ts": first["ts"], "payload": {"run_id": run, "status": "running",
                                                                          "reason": None},
                     "cursor": written[0].cursor}
    assert datetime.fromisoformat(first["ts"]) == written[0].ts
    assert frames[1].envelope["payload"]["timestamp"].startswith("2026-12-07T14:30:00")


def test_a_resumed_stream_continues_exactly_after_the_last_event_id(live: Live) -> None:
    run = new_run()
    cursors = live.append(run, 6)

    with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": cursors[2]}) as by_header, \
            SseStream(live.server, params={"run_id": run, "last_event_id": cursors[3]}) as by_query, \
            SseStream(live.server, params={"run_id": run, "last_event_id": cursors[0]},
                      headers={"Last-Event-ID": cursors[4]}) as reconnected, \
            SseStream(live.server, params={"run_id": run, "last_event_id": "0-0"}) as replay:
        more = live.append(run, 2)

        assert [f.id for f in by_header.events(5)] == cursors[3:] + more
        assert [f.id for f in by_query.events(4)] == cursors[4:] + more
        # an EventSource reconnects to the same URL with the header: the header wins
        assert [f.id for f in reconnected.events(3)] == cursors[5:] + more
        assert [f.id for f in replay.events(8)] == cursors + more
        assert by_header.quiet(0.3) == [] and replay.quiet(0.1) == []


def test_clients_resuming_while_events_pour_in_get_the_log_with_no_gap_and_no_duplicate(live: Live) -> None:
    run = new_run()
    seed = live.append(run, 20)
    written: list[str] = list(seed)
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set() and i < 400:
            written.extend(live.append_batch(run, 25) if i % 10 == 0 else live.append(run))
            i += 1
            time.sleep(0.002)

    def client(k: int) -> tuple[str, list[str]]:
        time.sleep(0.05 * k)
        after = written[-1 - 7 * k] if k % 3 else (written[5] if k % 2 else "0-0")
        with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": after}) as stream:
            ids: list[str] = []
            while not (final[0] and final[0] in ids):
                frame = stream.next(10)
                assert frame is not None, "the stream ended"
                if frame.id is not None:
                    ids.append(frame.id)
        return after, ids

    final = [""]
    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        thread = threading.Thread(target=writer)
        thread.start()
        clients = [pool.submit(client, k) for k in range(8)]
        time.sleep(0.6)
        stop.set()
        thread.join()
        final[0] = live.append(run)[0]
        results = [future.result(timeout=30) for future in clients]

    for after, ids in results:
        assert ids == live.cursors(after, run_id=run), after


def test_a_malformed_or_unknown_id_answers_400_and_replays_nothing(live: Live) -> None:
    for headers, params, named in [({"Last-Event-ID": "yesterday"}, {}, "Last-Event-ID"),
                                   ({"Last-Event-ID": ""}, {}, "Last-Event-ID"),
                                   ({}, {"last_event_id": "1-2-3"}, "last_event_id"),
                                   ({"Last-Event-ID": "0-999999999"}, {}, "Last-Event-ID"),
                                   ({}, {"last_event_id": "88888888-1"}, "last_event_id")]:
        with SseStream(live.server, params=params, headers=headers) as stream:
            body = error_of(stream, 400, "BAD_REQUEST")
        assert named in body["message"], body

    with live.server.client() as client:
        assert "after" in error_of(client.get("/api/v1/events/tail", params={"after": "x"}), 400, "BAD_REQUEST")[
            "message"]
        assert "names no event" in error_of(client.get("/api/v1/events/tail", params={"after": "0-999999999"}), 400,
                                            "BAD_REQUEST")["message"]
        too_many = error_of(client.get("/api/v1/events/tail", params={"limit": 1001}), 422, "VALIDATION_ERROR")
        assert too_many["details"]["errors"][0]["field"] == "limit" and "1000" in too_many["message"]
        error_of(client.get("/api/v1/events/tail", params={"limit": 0}), 422, "VALIDATION_ERROR")
        unknown = error_of(client.get("/api/v1/events/tail", params={"type": "order.filed"}), 422,
                           "VALIDATION_ERROR")
        assert "order.filed" in unknown["message"] and "order.filled" in unknown["message"]
    with SseStream(live.server, params={"type": "order.filed"}) as stream:
        error_of(stream, 422, "VALIDATION_ERROR")


def test_the_stream_filters_by_run_and_by_type(live: Live) -> None:
    r1, r2 = new_run(), new_run()

    with SseStream(live.server, params={"run_id": r1}) as by_run, \
            SseStream(live.server, params={"type": ["run.started", "tick"]}) as by_types, \
            SseStream(live.server, params={"type": "run.completed,run.started", "run_id": r2}) as both:
        live.append(r1, type="run.created")
        started = live.append(r1, type="run.started") + live.append(r2, type="run.started")
        tick = live.append(r1)
        completed = live.append(r2, type="run.completed")

        assert [f.event for f in by_run.events(3)] == ["run.created", "run.started", "tick"]
        assert [f.id for f in by_types.events(3)] == started + tick
        assert [f.id for f in both.events(2)] == [started[1], completed[0]]
        assert by_run.quiet(0.2) == [] and by_types.quiet(0.05) == [] and both.quiet(0.05) == []


def test_heartbeats_are_comments_without_an_id(live: Live) -> None:
    with SseStream(live.server, params={"run_id": new_run()}) as stream:
        frames = [stream.next(HEARTBEAT * 3) for _ in range(2)]

    for frame in frames:
        assert frame is not None and frame.comments and frame.raw.startswith(b":")
        assert frame.id is None and frame.event is None and frame.data is None


def test_the_stream_takes_the_token_in_its_query_and_nothing_else_does(live: Live) -> None:
    run = new_run()
    for token_header in ({}, {"Authorization": "Bearer wrong"}):
        with SseStream(live.server, headers=token_header, token=None, timeout=5) as refused:
            error_of(refused, 401, "UNAUTHORIZED")  # at once: the stream is not opened
    with SseStream(live.server, params={"token": "wrong"}, token=None) as refused:
        error_of(refused, 401, "UNAUTHORIZED")
    with SseStream(live.server, params={"token": TOKEN, "run_id": run}, token=None) as by_query:
        assert by_query.status == 200
        cursor = live.append(run)
        assert [f.id for f in by_query.events(1)] == cursor
    with httpx.Client(base_url=live.server.url) as anonymous:
        error_of(anonymous.get("/api/v1/events/tail", params={"token": TOKEN}), 401, "UNAUTHORIZED")
        error_of(anonymous.get("/api/v1/events/stats", params={"token": TOKEN}), 401, "UNAUTHORIZED")
        schema = anonymous.get("/openapi.json").json()

    stream = schema["paths"]["/api/v1/events/stream"]["get"]
    assert "token" in [p["name"] for p in stream["parameters"]]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "token" not in [p["name"] for p in schema["paths"]["/api/v1/events/tail"]["get"]["parameters"]]
    deadline = time.monotonic() + 5
    while "events/stream?token=***" not in live.server.stderr.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # the access line is written when the stream closes
    log = live.server.stderr.read_text()
    assert "GET /api/v1/events/stream?token=***" in log and TOKEN not in log


def test_every_client_gets_every_event(live: Live) -> None:
    run = new_run()
    streams = [SseStream(live.server, params={"run_id": run}) for _ in range(20)]
    try:
        cursors = live.append(run, 10) + live.append_batch(run, 40) + live.append(run, 10)

        for stream in streams:
            assert [f.id for f in stream.events(60)] == cursors
    finally:
        for stream in streams:
            stream.close()


def test_the_tail_returns_the_newest_events_or_those_after_a_cursor(live: Live) -> None:
    run = new_run()
    cursors = live.append(run, 5)
    live.readable(cursors[-1])

    with live.server.client() as client:
        newest = client.get("/api/v1/events/tail", params={"run_id": run, "limit": 3}).json()
        after = client.get("/api/v1/events/tail", params={"run_id": run, "after": cursors[0], "limit": 2}).json()
        past_the_end = client.get("/api/v1/events/tail", params={"run_id": run, "after": cursors[-1]}).json()
        typed = client.get("/api/v1/events/tail", params={"run_id": run, "type": "run.created"}).json()

    assert [e["cursor"] for e in newest["items"]] == cursors[2:] and newest["cursor"] == cursors[-1]
    assert [e["cursor"] for e in after["items"]] == cursors[1:3] and after["cursor"] == cursors[2]
    assert past_the_end == {"items": [], "cursor": cursors[-1]}
    assert typed["items"] == []
    item = newest["items"][0]
    assert set(item) == {"id", "type", "version", "run_id", "correlation_id", "causation_id", "ts", "payload",
                         "cursor"}
    # the tail's cursor resumes the stream with no gap
    with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": after["cursor"]}) as stream:
        more = live.append(run)
        frames = stream.events(3)
    assert [f.id for f in frames] == cursors[3:] + more
    with live.server.client() as client:  # the same event, the same JSON on the stream and the tail
        same = client.get("/api/v1/events/tail", params={"after": cursors[2], "limit": 1}).json()["items"]
    assert same == [frames[0].envelope]


def test_a_client_that_stops_reading_is_let_go_and_resumes_where_it_stopped(live: Live) -> None:
    run = new_run()
    slow = SseStream(live.server, params={"run_id": run}, rcvbuf=4096)
    fast = SseStream(live.server, params={"run_id": run})
    try:
        assert live.stats()["clients"] >= 2
        started = time.monotonic()
        # 16 MB in all: more than the kernel buffers for a client that reads nothing (4 MB on loopback).
        # The fast one reads each 100 as they come, so it never falls a queue behind, however slow
        # this machine is; the stalled one is let go meanwhile, and holds nothing back.
        cursors: list[str] = []
        for _ in range(20):
            batch = live.append_batch(run, 100, type="run.error")
            assert [f.id for f in fast.events(100, timeout=20)] == batch
            cursors += batch
        assert time.monotonic() - started < 10
        assert live.stats()["clients"] == 1  # the slow one was let go at once, its queue freed
        time.sleep(SEND_TIMEOUT + 0.5)  # and its connection is cut once a send has waited that long

        received: list[str] = []
        while (frame := slow.next(10)) is not None:
            if frame.id is not None:
                received.append(frame.id)
    finally:
        slow.close()
        fast.close()

    assert 0 < len(received) < len(cursors) and received == cursors[:len(received)]
    with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": received[-1]}) as resumed:
        assert [f.id for f in resumed.events(len(cursors) - len(received))] == cursors[len(received):]


def test_connecting_and_disconnecting_hundreds_of_times_leaves_no_task_behind(live: Live) -> None:
    def settled(at_most: int | None = None) -> dict[str, Any]:
        """The stats once no client streams and the tasks are down to ``at_most`` (or stop changing)."""
        deadline, last = time.monotonic() + 10, None
        while time.monotonic() < deadline:
            stats = live.stats()
            done = stats["tasks"] <= at_most if at_most is not None else stats == last
            if stats["clients"] == 0 and done:
                return stats
            last = stats
            time.sleep(0.1)
        return stats

    run = new_run()
    with SseStream(live.server, params={"run_id": run}) as warm:  # sse-starlette starts its one shutdown watcher
        live.append(run)
        warm.events(1)
    baseline = settled()["tasks"]

    for i in range(200):
        with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": "0-0"} if i % 2 else {}) as s:
            if i % 2:
                s.events(1)  # replays the run's one event
    streams = [SseStream(live.server, params={"run_id": run}) for _ in range(100)]
    assert live.stats()["clients"] == 100
    for stream in streams:
        stream.close()
    after = settled(at_most=baseline)

    assert after["clients"] == 0
    assert after["tasks"] <= baseline < 20, (baseline, after)


def test_a_stream_resumes_across_a_server_restart(live: Live) -> None:
    run = new_run()
    with SseStream(live.server, params={"run_id": run}) as stream:
        first = live.append(run, 3)
        received = [f.id for f in stream.events(3)]
        live.server.stop()
        while (frame := stream.next(10)) is not None:  # the server ends the stream as it stops
            assert frame.id is None
    try:
        while_down = live.append(run, 4) + live.append_batch(run, 5)
    finally:
        live.server.start()

    with SseStream(live.server, params={"run_id": run}, headers={"Last-Event-ID": received[-1]}) as resumed:
        after = live.append(run, 2)
        assert [f.id for f in resumed.events(11)] == while_down + after
    assert received == first


def test_the_readme_curl_example_streams_from_after_its_last_event_id(live: Live) -> None:
    import re
    import shutil
    import subprocess

    from tests.integration.api.server import ROOT

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    section = (ROOT / "README.md").read_text().split("## Event stream", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)[1]  # type: ignore[index]
    command = re.search(r"^curl -N .*?(?<!\\)$", block, flags=re.S | re.M)[0]  # type: ignore[index]
    run = new_run()
    cursors = live.append(run, type="run.created") + live.append(run, type="run.started") + live.append(run)
    command = (command.replace("http://127.0.0.1:8000", live.server.url).replace("0-42", cursors[0])
               .replace("r-7f3a", run).replace("curl -N", "curl -s -N --max-time 1.5"))

    done = subprocess.run(["bash", "-c", command], env={"TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)

    assert done.returncode == 28, done.stderr  # curl's "timed out": the stream stays open
    lines = done.stdout.splitlines()  # curl passes the \r\n through; text mode reads them as \n
    assert lines[:2] == [f"id: {cursors[1]}", "event: run.started"] and f"id: {cursors[2]}" not in done.stdout
    assert ": heartbeat" in lines
    shown = re.search(r"```text\n(.*?)```", section, flags=re.S)[1]  # type: ignore[index]
    sent = lines[2].removeprefix("data: ")
    assert list(json.loads(shown.splitlines()[2].removeprefix("data: "))) == list(json.loads(sent))
