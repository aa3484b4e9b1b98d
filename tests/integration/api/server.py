"""A real ``weaver serve`` process on loopback for the API's tests, its output in files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "test-token-" + "x" * 24


@dataclass
class Server:
    """One ``weaver serve`` process: its URL, token, home and log files."""

    home: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    url: str = ""
    token: str = TOKEN

    @property
    def stdout(self) -> Path:
        return self.home / "serve.out"

    @property
    def stderr(self) -> Path:
        return self.home / "serve.err"

    def start(self, timeout: float = 60) -> Server:
        """Start the server and wait until it prints its address and answers /healthz."""
        out, err = self.stdout.open("a"), self.stderr.open("a")
        offset = self.stdout.stat().st_size
        self.process = subprocess.Popen([sys.executable, "-m", "weaver", "serve", "--port", "0", *self.args],
                                        cwd=self.home, env=self.env, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"serving at (http://[^/\s]+)/#token=(\S+)", self.stdout.read_text()[offset:])
            if match:
                self.url = match[1]
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"weaver serve exited with {self.process.returncode}: {self.stderr.read_text()}")
            time.sleep(0.05)
        else:
            raise TimeoutError(f"weaver serve did not start: {self.stderr.read_text()}")
        return self

    def client(self, **kwargs: object) -> httpx.Client:
        """Return an HTTP client for this server that sends the token."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: a clean shutdown; SIGKILL: a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


def make_server(home: Path, database_url: str | None, *, token: str | None = TOKEN,
                args: list[str] | None = None, **env: str) -> Server:
    """Return a server (not started) with its own WEAVER_HOME and store."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WEAVER_")}
    environment.update({"WEAVER_HOME": str(home), "PYTHONPATH": str(ROOT), **env})
    if token is not None:
        environment["WEAVER_TOKEN"] = token
    if database_url is not None:
        environment["WEAVER_DATABASE_URL"] = database_url
    server = Server(home=home, env=environment, args=args or [])
    if token is None:
        server.token = ""
    return server
