"""/api/v1/strategies on a real server, on SQLite and PostgreSQL: register posted source, list, get.

One server per database serves the whole module; each test registers names of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.api.server import Server, make_server
from tests.integration.api.test_security import error_of
from tests.integration.store.conftest import pg_database

IMPORT_TIMEOUT_S = 2.0

SOURCE = '''\
import weaver as wv
from weaver.indicators import crossover, sma


class Cross(wv.Strategy):
    """Two SMAs crossing."""

    fast: int = wv.param(5, low=2, high=50, doc="fast window")
    slow: float = 20.0

    def init(self):
        self.f = self.indicator(sma, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, int(self.slow))

    def next(self):
        if crossover(self.f, self.s):
            self.buy(1)
'''


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One started server per database for the module, importing with a short timeout."""
    databases = pg_database() if request.param == "postgresql" else iter([None])
    url = next(databases)
    server = make_server(tmp_path_factory.mktemp(f"strategies-{request.param}"), url,
                         WEAVER_STRATEGY_IMPORT_TIMEOUT=str(IMPORT_TIMEOUT_S)).start()
    try:
        yield server
    finally:
        server.stop()
        next(databases, None)  # drops the PostgreSQL database


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_the_examples_are_registered_at_start_under_their_short_names(client: httpx.Client) -> None:
    listed = client.get("/api/v1/strategies", params={"latest": True, "page_size": 100}).json()
    sma = client.get("/api/v1/strategies/sma_cross").json()

    names = {item["name"]: item["class_name"] for item in listed["items"]}
    assert {"sma_cross": "SmaCross", "rsi_reversion": "RsiReversion",
            "momentum_rotation": "MomentumRotation"}.items() <= names.items()
    assert sma["class_name"] == "SmaCross" and "class SmaCross(Strategy)" in sma["source"]
    assert sma["version"] == hashlib.sha256(sma["source"].encode()).hexdigest()
    fast = sma["params_schema"]["properties"]["fast"]
    assert (fast["type"], fast["default"], fast["minimum"], fast["maximum"]) == ("integer", 10, 2, 200)


def test_a_posted_source_gets_an_id_and_a_version_and_the_same_source_the_same_ones(client: httpx.Client) -> None:
    first = client.post("/api/v1/strategies", json={"name": "cross_a", "source": SOURCE})
    again = client.post("/api/v1/strategies", json={"name": "cross_a", "source": SOURCE})
    changed = client.post("/api/v1/strategies", json={"name": "cross_a", "source": SOURCE + "\n# v2\n"})

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and changed.status_code == 201
    body = first.json()
    assert body["version"] == hashlib.sha256(SOURCE.encode()).hexdigest()
    assert (again.json()["id"], again.json()["version"]) == (body["id"], body["version"])
    assert changed.json()["id"] != body["id"] and changed.json()["version"] != body["version"]
    assert body["class_name"] == "Cross" and body["source"] == SOURCE
    schema = body["params_schema"]
    assert schema["title"] == "Cross" and schema["description"] == "Two SMAs crossing."
    assert schema["properties"]["fast"] == {"type": "integer", "title": "fast", "description": "fast window",
                                            "default": 5, "minimum": 2, "maximum": 50}
    assert schema["properties"]["slow"] == {"type": "number", "title": "slow", "default": 20.0}


def test_get_by_name_gives_the_newest_version_by_id_or_version_a_given_one(client: httpx.Client) -> None:
    old = client.post("/api/v1/strategies", json={"name": "cross_b", "source": SOURCE}).json()
    new = client.post("/api/v1/strategies", json={"name": "cross_b", "source": SOURCE + "# new\n"}).json()

    by_name = client.get("/api/v1/strategies/cross_b").json()
    by_id = client.get(f"/api/v1/strategies/{old['id']}").json()
    by_version = client.get("/api/v1/strategies/cross_b", params={"version": old["version"][:10]}).json()

    assert by_name["id"] == new["id"]
    assert by_id == old and by_version == old
    assert error_of(client.get("/api/v1/strategies/cross_b", params={"version": "0" * 12}), 404,
                    "NOT_FOUND")["details"]["field"] == "version"


def test_the_list_pages_filters_by_name_and_shows_newest_versions_only_when_asked(client: httpx.Client) -> None:
    for k in range(3):
        assert client.post("/api/v1/strategies", json={"name": "cross_c", "source": SOURCE + f"# {k}\n"}).is_success

    every = client.get("/api/v1/strategies", params={"name": "cross_c"}).json()
    page = client.get("/api/v1/strategies", params={"name": "cross_c", "page": 2, "page_size": 2}).json()
    newest = client.get("/api/v1/strategies", params={"name": "cross_c", "latest": True}).json()

    assert every["total"] == 3 and [i["name"] for i in every["items"]] == ["cross_c"] * 3
    assert [i["id"] for i in every["items"]] == sorted((i["id"] for i in every["items"]), reverse=True)
    assert (page["page"], page["page_size"], page["total"], len(page["items"])) == (2, 2, 3, 1)
    assert newest["total"] == 1 and newest["items"][0]["id"] == every["items"][0]["id"]
    assert set(every["items"][0]) == {"id", "name", "version", "class_name", "created_at"}  # no source in lists


@pytest.mark.parametrize(("source", "field", "fragments"), [
    ("import weaver as wv\n\nclass X(wv.Strategy)\n    pass\n", "source", ["line 3", "SyntaxError"]),
    ("import weaver\nimport not_a_module_xyz\n", "source", ["line 2", "ModuleNotFoundError", "not_a_module_xyz"]),
    ("def helper():\n    return 1\n", "source", ["no weaver.Strategy subclass"]),
    ("import weaver as wv\nclass A(wv.Strategy):\n    pass\nclass B(wv.Strategy):\n    pass\n", "class_name",
     ["2 weaver.Strategy subclasses: A, B", "class_name"]),
])
def test_a_source_that_does_not_build_is_refused_with_its_error(client: httpx.Client, source: str, field: str,
                                                                fragments: list[str]) -> None:
    body = error_of(client.post("/api/v1/strategies", json={"name": "broken", "source": source}), 422,
                    "VALIDATION_ERROR")

    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    assert body["details"]["errors"][0]["field"] == field
    assert "Traceback" not in body["message"]
    assert error_of(client.get("/api/v1/strategies/broken"), 404, "NOT_FOUND")


def test_class_name_picks_one_of_several_classes(client: httpx.Client) -> None:
    source = "import weaver as wv\nclass A(wv.Strategy):\n    a: int = 1\nclass B(wv.Strategy):\n    b: bool = True\n"

    picked = client.post("/api/v1/strategies", json={"name": "pick_b", "source": source, "class_name": "B"})
    wrong = client.post("/api/v1/strategies", json={"name": "pick_c", "source": source, "class_name": "C"})

    assert picked.status_code == 201 and picked.json()["class_name"] == "B"
    assert list(picked.json()["params_schema"]["properties"]) == ["b"]
    body = error_of(wrong, 422, "VALIDATION_ERROR")
    assert "no class 'C'" in body["message"] and body["details"]["errors"][0]["field"] == "class_name"


def test_a_source_that_kills_or_hangs_its_worker_is_refused_and_the_server_keeps_serving(
        client: httpx.Client) -> None:
    killed = client.post("/api/v1/strategies", json={"name": "killer", "source": "import os\nos._exit(1)\n"})
    started = time.perf_counter()
    hung = client.post("/api/v1/strategies", json={"name": "hanger", "source": "while True:\n    pass\n"})
    hung_s = time.perf_counter() - started
    after = client.post("/api/v1/strategies", json={"name": "after_hang", "source": SOURCE})

    assert "exit code 1" in error_of(killed, 422, "VALIDATION_ERROR")["message"]
    body = error_of(hung, 422, "VALIDATION_ERROR")
    assert f"did not finish within {IMPORT_TIMEOUT_S:g} s" in body["message"]
    assert body["details"]["errors"][0]["type"] == "timeout"
    assert IMPORT_TIMEOUT_S <= hung_s < IMPORT_TIMEOUT_S + 3
    assert after.status_code == 201


def test_the_import_runs_off_the_event_loop(server: Server, client: httpx.Client) -> None:
    def hang() -> None:
        with server.client() as other:
            other.post("/api/v1/strategies", json={"name": "slow", "source": "import time\ntime.sleep(60)\n"})

    thread = threading.Thread(target=hang)
    thread.start()
    time.sleep(0.3)  # the import is under way
    latencies = []
    for _ in range(5):
        started = time.perf_counter()
        assert client.get("/api/v1/strategies/sma_cross").status_code == 200
        latencies.append(time.perf_counter() - started)
    thread.join()

    assert max(latencies) < 0.5, latencies


@pytest.mark.parametrize(("request_body", "field"), [
    ({"name": "1abc", "source": SOURCE}, "name"),
    ({"name": "has space", "source": SOURCE}, "name"),
    ({"name": "ok"}, "source"),
    ({"name": "ok", "source": SOURCE, "class_name": "not-an-identifier"}, "class_name"),
    ({"name": "ok", "source": SOURCE, "extra": 1}, "extra"),
])
def test_bad_fields_are_named(client: httpx.Client, request_body: dict, field: str) -> None:
    body = error_of(client.post("/api/v1/strategies", json=request_body), 422, "VALIDATION_ERROR")

    assert field in [error["field"] for error in body["details"]["errors"]]


def test_malformed_json_and_unknown_strategies_are_refused_and_the_server_keeps_serving(
        client: httpx.Client) -> None:
    malformed = client.post("/api/v1/strategies", content=b'{"name": "x", "source": ',
                            headers={"Content-Type": "application/json"})
    unknown_name = client.get("/api/v1/strategies/no_such_strategy")
    unknown_id = client.get("/api/v1/strategies/999999")
    bad_page = client.get("/api/v1/strategies", params={"page_size": 10_000})
    far_page = client.get("/api/v1/strategies", params={"page": 10**22})
    not_text = client.post("/api/v1/strategies", content=b"\x17\xd7\xb6NB\x00", headers={"Content-Type": "application/json"})

    error_of(malformed, 422, "VALIDATION_ERROR")
    body = error_of(unknown_name, 404, "NOT_FOUND")
    assert "no_such_strategy" in body["message"] and body["details"]["field"] == "strategy"
    assert "999999" in error_of(unknown_id, 404, "NOT_FOUND")["message"]
    assert "page_size" in error_of(bad_page, 422, "VALIDATION_ERROR")["message"]
    assert "page" in error_of(far_page, 422, "VALIDATION_ERROR")["message"]
    assert not_text.status_code in (400, 422) and not_text.json()["code"] in ("BAD_REQUEST", "VALIDATION_ERROR")
    assert client.get("/api/v1/strategies/sma_cross").status_code == 200


def test_the_openapi_document_types_every_strategy_route_with_examples(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    for path, method, status in [("/api/v1/strategies", "post", "201"), ("/api/v1/strategies", "get", "200"),
                                 ("/api/v1/strategies/{strategy}", "get", "200")]:
        operation = doc["paths"][path][method]
        ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert schemas[ref.rsplit("/", 1)[1]].get("examples"), ref
        assert operation["summary"] and operation["description"]
    assert {"404", "422"} <= set(doc["paths"]["/api/v1/strategies/{strategy}"]["get"]["responses"])
    assert schemas["StrategyCreate"].get("examples")


def test_a_restart_registers_the_examples_again_without_new_versions(server: Server) -> None:
    with server.client() as client:
        before = client.get("/api/v1/strategies", params={"name": "sma_cross"}).json()
    server.stop()
    server.start()
    with server.client() as client:
        after = client.get("/api/v1/strategies", params={"name": "sma_cross"}).json()

    assert after == before and before["total"] == 1


def test_resolve_strategy_finds_by_name_or_id_and_names_what_it_cannot_find(tmp_path: Path) -> None:
    from weaver.api.errors import ApiError
    from weaver.api.services.strategies import resolve_strategy
    from weaver.store import AsyncStore
    from weaver.store.runs import register_strategy

    async def scenario() -> tuple:
        store = AsyncStore(f"sqlite+aiosqlite:///{tmp_path / 'weaver.db'}")
        try:
            await store.upgrade()
            async with store.unit_of_work() as uow:
                old = await register_strategy(uow, "mine", "v = 1", {"title": "Mine"})
            async with store.unit_of_work() as uow:
                new = await register_strategy(uow, "mine", "v = 2", {"title": "Mine"})
            by_name = await resolve_strategy(store, "mine")
            by_id = await resolve_strategy(store, old.id)
            by_id_text = await resolve_strategy(store, str(old.id))
            errors = []
            for wanted in ("nope", 12345, "12345"):
                try:
                    await resolve_strategy(store, wanted)
                except ApiError as exc:
                    errors.append(exc)
            return new, old, by_name, by_id, by_id_text, errors
        finally:
            await store.close()

    new, old, by_name, by_id, by_id_text, errors = asyncio.run(scenario())

    assert by_name == new and by_id == old and by_id_text == old
    assert [(e.status, e.code.value) for e in errors] == [(404, "NOT_FOUND")] * 3
    assert "'nope'" in errors[0].message and "mine" in errors[0].message
    assert errors[0].details == {"field": "strategy_id", "value": "nope"}
    assert "12345" in errors[1].message
