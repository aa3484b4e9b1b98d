"""benchmarks/events.py runs end to end: tiny sizes, SQLite only (no server needed), its table and targets printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_events_benchmark_prints_its_table_and_targets() -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "events.py"), "--databases", "sqlite",
           "--events", "5", "--batches", "1", "--repeat", "1", "--latency-events", "0"]

    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.split()[:2] == ["database", "mode"] and "weaver/raw" in line for line in lines)
    assert any(line.startswith("sqlite") and "single" in line for line in lines)
    assert any(line.startswith("sqlite") and "batch 1,000 " in line and "checks" not in line for line in lines)
    assert any(line.startswith("sqlite") and "batch 1,000 + checks" in line for line in lines)
    assert "Targets:" in lines
    assert any(re.fullmatch(r"  batched appends >= 50% of raw rows/s, sqlite +: (NOT )?MET "
                            r"\(\d+%; with the checks in the timing too: \d+%\)", line) for line in lines)
    assert any("NOTIFY p99" in line and "n/a (not run)" in line for line in lines)
