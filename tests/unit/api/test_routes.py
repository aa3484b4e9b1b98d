"""Every /api/v1 route requires the token, and declares it in the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from weaver.api import create_app
from weaver.api.security import require_token, require_token_or_query
from weaver.settings import Settings


def _calls(dependant: Dependant) -> set:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def test_every_api_route_requires_the_token_and_only_the_stream_takes_it_in_the_query(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, token="t"))
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/v1")]
    schema = app.openapi()

    assert routes
    for route in routes:
        calls = _calls(route.dependant)
        assert require_token in calls or require_token_or_query in calls, route.path
        assert (require_token_or_query in calls) == (route.path == "/api/v1/events/stream"), route.path
        for method in route.methods:
            assert schema["paths"][route.path][method.lower()].get("security"), (method, route.path)
