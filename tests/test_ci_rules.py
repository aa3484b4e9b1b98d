"""The suite's own rule: in CI a skipped PostgreSQL test is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_skipped_postgres_test_fails_in_ci_and_skips_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom tests.conftest import pytest_runtest_makereport\n")
    (tmp_path / "test_pg.py").write_text(
        "import pytest\n\n@pytest.mark.postgres\ndef test_needs_the_server():\n    pytest.skip('no server')\n\n"
        "def test_other():\n    pytest.skip('not postgres')\n")

    def run(ci: str) -> str:
        env = {**os.environ, "CI": ci}
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                                 "-m", "", "--strict-markers", "-o", "markers=postgres: x", str(tmp_path)],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        return result.stdout.strip().splitlines()[-1]

    assert "1 failed, 1 skipped" in run("true")
    assert "2 skipped" in run("false")
