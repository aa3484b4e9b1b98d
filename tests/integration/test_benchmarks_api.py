"""benchmarks/api.py runs end to end: a few SSE clients on SQLite, its table and targets printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_benchmark_prints_its_fan_out_table_and_targets() -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "api.py"), "--databases", "sqlite", "--clients", "3",
           "--client-procs", "2", "--events", "10", "--interval-ms", "5,10", "--parts", "sse,http"]

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
    assert any(line.startswith("  HTTP: GET /api/v1/runs") and "n/a (not written yet)" in line for line in lines)
