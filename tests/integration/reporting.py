"""Run ``weaver report`` once per parameter set and share the output between test modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEAVER = Path(sys.executable).with_name("weaver")
#: the parameters of the report the CLI and browser tests share
SHARED = ["-p", "fast", "15", "-p", "slow", "40", "-p", "start", "2006-01-01", "-p", "commission", "0.001"]

_done: dict[tuple[str, ...], tuple[Path, subprocess.CompletedProcess[str]]] = {}


def weaver(*args: str, cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the installed ``weaver`` command (with progress bars on, whatever other tests set)."""
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    return subprocess.run([str(WEAVER), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def shared_report(factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Return the output directory and the finished process of the shared report run."""
    key = tuple(SHARED)
    if key not in _done:
        out = factory.mktemp("report")
        done = weaver("report", *SHARED, "--out", str(out), "--name", "sma_goog")
        assert done.returncode == 0, done.stderr[-3000:]
        _done[key] = (out, done)
    return _done[key]
