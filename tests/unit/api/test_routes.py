"""Every /api/v1 route requires the token and declares it; only the event stream takes ``?token=``."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from weaver.api import create_app
from weaver.settings import Settings

TOKEN = "unit-token"


def test_every_api_route_refuses_a_request_without_the_token_and_declares_it(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        schema = client.get("/openapi.json").json()
        operations = [(path, method) for path, item in schema["paths"].items() if path.startswith("/api/v1")
                      for method in item if method in ("get", "post", "put", "patch", "delete")]
        assert operations
        for path, method in operations:
            operation = schema["paths"][path][method]
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            assert operation.get("security"), f"{method.upper()} {path} declares no token"
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert ("token" in query) == (path == "/api/v1/events/stream"), path
            anonymous = client.request(method.upper(), concrete)
            assert anonymous.status_code == 401, (method, path, anonymous.status_code)
            assert anonymous.json()["code"] == "UNAUTHORIZED"
