"""The OpenAPI document, fuzzed by schemathesis against a real server: no 500s, and no route that
declares the token serves without it (its ``ignored_auth`` check).

The event stream is left out: a fuzzer would wait on it forever (its auth has its own test).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.api.server import Server

pytestmark = pytest.mark.slow


def test_the_openapi_document_fuzzed_gives_no_server_error_and_no_ignored_auth(server: Server,
                                                                               tmp_path: Path) -> None:
    report = tmp_path / "schemathesis"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
               "--checks", "not_a_server_error,ignored_auth,status_code_conformance,content_type_conformance",
               "-H", f"Authorization: Bearer {server.token}", "--exclude-path", "/api/v1/events/stream",
               "--max-examples", "25", "--seed", "1", "--generation-database", "none", "--request-timeout", "30",
               "--report-dir", str(report), "--no-color"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)

    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "passed" in summary.lower()
