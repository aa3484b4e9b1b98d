"""Security by default (DESIGN §6): the token, Host and Origin checks, errors that leak nothing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.api.server import ROOT, TOKEN, Server, make_server


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert set(body) == {"code", "message", "details", "correlation_id", "timestamp"}
    return body


def test_healthz_needs_no_token_and_api_routes_need_the_bearer_token(server: Server) -> None:
    with httpx.Client(base_url=server.url) as anonymous, server.client() as client:
        assert anonymous.get("/healthz").json() == {"status": "ok", "database": "ok"}
        error_of(anonymous.get("/api/v1/info"), 401, "UNAUTHORIZED")
        error_of(anonymous.get("/api/v1/info", headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED")
        error_of(anonymous.get("/api/v1/info", params={"token": TOKEN}), 401, "UNAUTHORIZED")  # stream only
        info = client.get("/api/v1/info")

    assert info.status_code == 200
    assert info.json()["database"] in ("sqlite", "postgresql") and info.json()["schema_revision"]


def test_a_foreign_host_or_origin_is_refused(server: Server) -> None:
    with server.client() as client:
        rebinding = client.get("/api/v1/info", headers={"Host": "evil.example:8000"})
        foreign = client.post("/api/v1/info", headers={"Origin": "https://evil.example"})
        own_origin = client.post("/api/v1/info", headers={"Origin": server.url})
        read_from_foreign = client.get("/api/v1/info", headers={"Origin": "https://evil.example"})

    assert "evil.example" in error_of(rebinding, 403, "FORBIDDEN")["message"]
    assert "evil.example" in error_of(foreign, 403, "FORBIDDEN")["message"]
    assert own_origin.status_code == 405  # passes the guard; the route takes no POST
    assert read_from_foreign.status_code == 200 and "access-control-allow-origin" not in read_from_foreign.headers


def test_configured_hosts_and_origins_are_accepted(tmp_path: Path) -> None:
    server = make_server(tmp_path, None, WEAVER_ALLOWED_HOSTS="weaver.lan",
                         WEAVER_ALLOWED_ORIGINS="https://dash.example").start()
    try:
        with server.client() as client:
            host = client.get("/api/v1/info", headers={"Host": "weaver.lan"})
            origin = client.post("/api/v1/info", headers={"Origin": "https://dash.example"})
            preflight = client.options("/api/v1/info", headers={"Origin": "https://dash.example",
                                                                  "Access-Control-Request-Method": "GET"})
    finally:
        server.stop()

    assert host.status_code == 200 and origin.status_code == 405
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"


def test_correlation_ids_are_echoed_or_generated_and_logged(server: Server) -> None:
    with server.client() as client:
        echoed = client.get("/api/v1/info", headers={"X-Correlation-ID": "req-42"})
        generated = client.get("/api/v1/nowhere")

    assert echoed.headers["x-correlation-id"] == "req-42"
    body = error_of(generated, 404, "NOT_FOUND")
    server.stop()
    log = server.stderr.read_text()
    assert "[req-42]" in log and f"[{body['correlation_id']}]" in log


def test_a_body_over_the_limit_is_refused_and_the_server_keeps_serving(server: Server) -> None:
    with server.client() as client:
        declared = client.post("/api/v1/info", content=b"x" * 5_000_000)

        def chunks():
            for _ in range(50):
                yield b"x" * 100_000

        streamed = client.post("/api/v1/info", content=chunks())
        after = client.get("/api/v1/info")

    error_of(declared, 413, "PAYLOAD_TOO_LARGE")
    assert streamed.status_code in (405, 413)  # a route without POST may refuse before reading the body
    assert after.status_code == 200


def test_the_token_never_reaches_the_logs(server: Server) -> None:
    with server.client() as client:
        client.get("/api/v1/info", params={"token": TOKEN, "x": "1"})
        client.get("/api/v1/info", headers={"Authorization": "Bearer wrong-" + TOKEN})
    server.stop()

    log = server.stderr.read_text()
    assert TOKEN not in log
    assert "token=***" in log
    out = server.stdout.read_text()
    assert [line for line in out.splitlines() if TOKEN in line] == [line for line in out.splitlines()
                                                                     if "serving at" in line]


def test_a_generated_token_is_private_and_reused(tmp_path: Path) -> None:
    first = make_server(tmp_path, None, token=None).start()
    try:
        printed = first.url
        token_file = tmp_path / "token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert f"#token={token}" in first.stdout.read_text() and printed
    finally:
        first.stop()
    second = make_server(tmp_path, None, token=None).start()
    try:
        second.token = token
        with second.client() as client:
            assert client.get("/api/v1/info").status_code == 200
    finally:
        second.stop()


def test_a_network_address_needs_allow_remote(tmp_path: Path) -> None:
    env = {**os.environ, "WEAVER_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    refused = subprocess.run([sys.executable, "-m", "weaver", "serve", "--host", "0.0.0.0", "--port", "0"],
                             env=env, capture_output=True, text=True, timeout=60)

    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr and "Traceback" not in refused.stderr

    server = make_server(tmp_path, None, args=["--host", "0.0.0.0", "--allow-remote"]).start()
    server.stop()
    assert "reachable from the network" in server.stderr.read_text()


@pytest.mark.postgres
def test_a_database_that_is_down_answers_503_and_the_server_recovers(tmp_path: Path) -> None:
    from tests.integration.store.conftest import pg_database
    from tests.integration.store.test_pg_faults import _pg_restart_command

    command = _pg_restart_command()
    stop, start = [*command[:3], "stop", "-m", "immediate"], [*command[:3], "start"]
    for url in pg_database():
        server = make_server(tmp_path, url).start()
        try:
            with server.client() as client:
                assert client.get("/api/v1/info").status_code == 200
                subprocess.run(stop, check=True, timeout=60)
                try:
                    down = client.get("/api/v1/info")
                    health = client.get("/healthz")
                finally:
                    subprocess.run(start, check=True, timeout=60)
                back = None
                for _ in range(50):
                    back = client.get("/api/v1/info")
                    if back.status_code == 200:
                        break
            body = error_of(down, 503, "SERVICE_UNAVAILABLE")
            assert "postgres" not in body["message"].lower() and health.status_code == 503
            assert back is not None and back.status_code == 200
        finally:
            server.stop()
