"""Fixtures for every test package."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Work in an empty directory, as a user's own; forget afterwards the modules imported from it.

    ``sys.path`` is restored too, so a test that finds it changed fails only itself.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """In CI (``CI=true``) a PostgreSQL test that skips fails: CI has the server, so a skip hides a fault."""
    report = yield
    if report.skipped and os.environ.get("CI") == "true" and item.get_closest_marker("postgres") is not None:
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"a PostgreSQL test skipped in CI: {reason}"
    return report
