"""benchmarks/api.py runs end to end: a few SSE clients on SQLite, its table and targets printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_benchmark_prints_its_fan_out_table_and_targets() -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "api.py"), "--databases", "sqlite", "--clients", "3",
           "--client-procs", "2", "--events", "10", "--interval-ms", "5,10", "--parts", "sse"]

    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.split()[:2] == ["database", "latency"] and "p99 ms" in line for line in lines)
    assert any(re.match(r"sqlite +last +3 +10 .* 3/3", line) for line in lines), done.stdout
    assert any(re.match(r"sqlite +log reader +3 +10 ", line) for line in lines)
    assert "Targets:" in lines
    assert any(re.fullmatch(r"  SSE fan-out p99 <= 100 ms to every client, sqlite +: (NOT )?MET \(.+ ms; .+\)", line)
               for line in lines)
    assert any("postgresql" in line and "n/a (not run)" in line for line in lines)


def test_the_http_part_parses_wrk_and_prints_its_ratio(monkeypatch) -> None:
    """The wrk output the HTTP part reads (wrk itself is a Debian package, not installed by the project)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "benchmarks" / "api.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sample = ("Running 2s test @ http://127.0.0.1:1/api/v1/runs\n  Latency Distribution\n     50%  830.00us\n"
              "     75%    1.20ms\n     90%    2.00ms\n     99%   12.50ms\n  8000 requests in 2.00s, 1MB read\n"
              "Requests/sec:   4000.50\nTransfer/sec:      1.00MB\n")
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, sample, ""))

    assert bench.wrk("http://x", "t", 16, 2) == pytest.approx((4000.5, 0.83, 12.5))
    rows = [{"database": "sqlite", "connections": 1, "route": "miss", "rate": 300.0, "p50": 3.3, "p99": 4.7},
            {"database": "sqlite", "connections": 16, "route": "runs", "rate": 1000.0, "p50": 1.0, "p99": 2.0},
            {"database": "sqlite", "connections": 16, "route": "bare", "rate": 4000.0, "p50": 0.5, "p99": 1.0}]
    ((label, ok, shown),) = bench.http_part(rows)  # the miss row is shown, not a target
    assert "16 conns" in label and ok is False and shown == "25%"
