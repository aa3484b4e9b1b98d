"""A small Server-Sent Events client over a plain socket, for the event stream's tests.

A socket rather than httpx: a test can read with a deadline, close from anywhere, shrink the
receive buffer to play a client that stops reading, and see the bytes exactly as sent.
"""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.integration.api.server import Server

STREAM = "/api/v1/events/stream"


@dataclass
class Frame:
    """One SSE message: its fields, or the comment lines of a heartbeat."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)
    raw: bytes = b""

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.data or "null")


class SseStream:
    """One GET of the event stream: the answer's status and headers, then its frames one at a time."""

    def __init__(self, server: Server, path: str = STREAM, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, *, token: str | None = "header", rcvbuf: int | None = None,
                 timeout: float = 10) -> None:
        parts = urlsplit(server.url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        query = urlencode(params or {}, doseq=True)
        lines = [f"GET {path}{'?' + query if query else ''} HTTP/1.1", f"Host: {parts.netloc}",
                 "Accept: text/event-stream"]
        if token == "header":
            lines.append(f"Authorization: Bearer {server.token}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._raw = b""  # bytes received, not yet de-chunked
        self._body = b""  # de-chunked bytes, not yet split into frames
        self._frames: deque[bytes] = deque()  # whole frames, not yet returned
        self.ended = False  # the body's last chunk came
        self.eof = False  # the server closed the connection
        head = self._read_until(b"\r\n\r\n", timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines if h)}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        if not self.chunked and "content-length" in self.headers:
            length = int(self.headers["content-length"])
            while len(self._raw) < length:
                self._recv(timeout)
            self._body, self._raw, self.ended = self._raw[:length], b"", True

    # -- reading ---------------------------------------------------------------------------

    def _recv(self, timeout: float) -> bool:
        self.sock.settimeout(max(timeout, 0.001))
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self._raw += data
        return True

    def _read_until(self, marker: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self._raw:
            if not self._recv(deadline - time.monotonic()):
                raise ConnectionError(f"closed before {marker!r}: {self._raw!r}")
        head, self._raw = self._raw.split(marker, 1)
        return head

    def _dechunk(self) -> None:
        """Move the whole chunks received to the body, and the whole frames of the body to the frames."""
        if self.chunked:
            raw, at, pieces = self._raw, 0, []
            while not self.ended:
                line_end = raw.find(b"\r\n", at)
                if line_end < 0:
                    break
                size = int(raw[at:line_end], 16)
                if len(raw) < line_end + 2 + size + 2:
                    break
                pieces.append(raw[line_end + 2:line_end + 2 + size])
                at = line_end + 2 + size + 2
                self.ended = size == 0
            self._raw = raw[at:]
            self._body += b"".join(pieces)
        *whole, self._body = self._body.split(b"\r\n\r\n")
        self._frames.extend(whole)

    @property
    def body(self) -> bytes:
        """The whole body of an answer that was not a stream (an error)."""
        return self._body

    def json(self) -> Any:
        return json.loads(self._body)

    def next(self, timeout: float = 10) -> Frame | None:
        """Return the next frame (an event or a comment), or None once the server ended the stream.

        Raises
        ------
        TimeoutError
            If no whole frame came within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not self._frames:
            self._dechunk()
            if self._frames:
                break
            if self.ended or self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            try:
                self._recv(remaining)
            except (socket.timeout, TimeoutError):
                raise TimeoutError(f"no frame within {timeout} s") from None
            except ConnectionResetError:
                self.eof = True
        raw = self._frames.popleft()
        frame = Frame(raw=raw)
        for line in raw.decode().split("\r\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                frame.comments.append(value)
            elif name in ("id", "event", "data"):
                setattr(frame, name, value)
        return frame

    def events(self, n: int, timeout: float = 10) -> list[Frame]:
        """Return the next ``n`` events, skipping comments."""
        deadline = time.monotonic() + timeout
        found: list[Frame] = []
        while len(found) < n:
            frame = self.next(deadline - time.monotonic())
            if frame is None:
                raise ConnectionError(f"the stream ended after {len(found)} of {n} events")
            if frame.id is not None or frame.data is not None:
                found.append(frame)
        return found

    def quiet(self, seconds: float) -> list[Frame]:
        """Return the events (not comments) that arrive within ``seconds``: none is expected."""
        deadline = time.monotonic() + seconds
        found: list[Frame] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self.next(remaining)
            except TimeoutError:
                break
            if frame is None:
                break
            if frame.id is not None:
                found.append(frame)
        return found

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self) -> SseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
