"""The app's error answers, in process: an unexpected exception leaks nothing; validation names the field."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import Query
from fastapi.testclient import TestClient

from weaver.api import create_app
from weaver.settings import Settings

TOKEN = "unit-token"


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(Settings(home=tmp_path, token=TOKEN))

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/api/v1/needs")
    async def needs(limit: int = Query(ge=1, le=10)) -> dict:
        return {"limit": limit}

    return app


def test_an_unexpected_exception_answers_500_with_nothing_of_it(app, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as client, caplog.at_level(logging.ERROR, "weaver.api"):
        response = client.get("/api/v1/boom", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "INTERNAL_ERROR" and body["details"] is None
    assert "hunter2" not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert body["correlation_id"] in logged


def test_a_validation_error_names_the_field(app) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/api/v1/needs", params={"limit": 500}, headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and "limit" in body["message"]
    assert body["details"]["errors"][0]["field"] == "limit"
