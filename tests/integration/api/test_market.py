"""/api/v1/symbols and /api/v1/candles on a real server, from the catalog it seeded on first start.

The store plays no part here, so the module runs one SQLite server.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.integration.api.server import ROOT, Server, make_server
from tests.integration.api.test_security import error_of


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("market"), None).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_the_first_start_seeds_the_catalog_with_the_shipped_sample_data(server: Server, client: httpx.Client) -> None:
    symbols = client.get("/api/v1/symbols").json()

    assert symbols == {"items": [{"symbol": "GOOG", "timeframes": [
        {"timeframe": "1d", "bars": 2148, "start": "2004-08-19T00:00:00Z", "end": "2013-03-01T00:00:00Z"}]}]}
    assert (server.home / "catalog" / "1d" / "GOOG.parquet").is_file()
    assert client.get("/api/v1/info").json()["symbols"] == 1


def test_candles_of_a_range_are_decimal_strings_in_time_order(client: httpx.Client) -> None:
    response = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d",
                                                     "start": "2004-08-19", "end": "2004-08-23T00:00:00Z"})

    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["symbol"], body["timeframe"], body["next_start"], body["limit"]) == ("GOOG", "1d", None, 1000)
    assert [c["timestamp"] for c in body["items"]] == ["2004-08-19T00:00:00Z", "2004-08-20T00:00:00Z",
                                                       "2004-08-23T00:00:00Z"]
    assert body["items"][0] == {"symbol": "GOOG", "timeframe": "1d", "timestamp": "2004-08-19T00:00:00Z",
                                "open": "100", "high": "104.06", "low": "95.96", "close": "100.34",
                                "volume": "22351900", "trade_count": None}
    assert Decimal(body["items"][1]["close"]) == Decimal("108.31")


def test_a_page_is_capped_by_limit_and_says_where_the_next_one_starts(client: httpx.Client) -> None:
    first = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d", "limit": 1500}).json()
    rest = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d", "limit": 1500,
                                                 "start": first["next_start"]}).json()
    default = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d"}).json()

    assert len(first["items"]) == 1500 and first["next_start"] == rest["items"][0]["timestamp"]
    assert len(rest["items"]) == 648 and rest["next_start"] is None
    assert len(default["items"]) == 1000 and default["limit"] == 1000


@pytest.mark.parametrize(("params", "status", "code", "field", "fragment"), [
    ({"symbol": "NOPE", "timeframe": "1d"}, 404, "NOT_FOUND", "symbol", "GOOG"),
    ({"symbol": "GOOG", "timeframe": "1m"}, 404, "NOT_FOUND", "timeframe", "1d"),
    ({"symbol": "GOOG", "timeframe": "7x"}, 422, "VALIDATION_ERROR", "timeframe", "7x"),
    ({"symbol": "GOOG", "timeframe": "1d", "start": "2010-01-02", "end": "2010-01-01"}, 422, "VALIDATION_ERROR",
     "end", "before start"),
    ({"symbol": "GOOG", "timeframe": "1d", "limit": 1_000_000}, 422, "VALIDATION_ERROR", "limit", "10000"),
    ({"symbol": "GOOG", "timeframe": "1d", "start": "yesterday"}, 422, "VALIDATION_ERROR", "start", "datetime"),
    ({"timeframe": "1d"}, 422, "VALIDATION_ERROR", "symbol", "symbol"),
])
def test_bad_queries_name_the_field_and_the_server_keeps_serving(client: httpx.Client, params: dict, status: int,
                                                                 code: str, field: str, fragment: str) -> None:
    body = error_of(client.get("/api/v1/candles", params=params), status, code)

    assert fragment in body["message"], body["message"]
    fields = [e["field"] for e in body["details"]["errors"]] if "errors" in body["details"] else [body["details"]["field"]]
    assert field in fields
    assert client.get("/api/v1/symbols").status_code == 200


def test_an_empty_range_is_an_empty_page_and_far_times_are_no_error(client: httpx.Client) -> None:
    empty = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d", "start": "2020-01-01"})
    far = client.get("/api/v1/candles", params={"symbol": "GOOG", "timeframe": "1d", "start": "0378-11-19T13:55:24Z",
                                                "end": "9999-12-31T00:00:00Z", "limit": 2})

    assert empty.json()["items"] == [] and empty.json()["next_start"] is None
    assert far.status_code == 200 and far.json()["items"][0]["timestamp"] == "2004-08-19T00:00:00Z"


def test_the_openapi_document_types_the_market_routes_with_examples(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    for path in ("/api/v1/candles", "/api/v1/symbols"):
        operation = doc["paths"][path]["get"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert schemas[ref.rsplit("/", 1)[1]].get("examples"), ref
        assert operation["summary"] and operation["description"]
    limit = next(p for p in doc["paths"]["/api/v1/candles"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10_000


def test_an_existing_catalog_is_not_seeded(tmp_path: Path) -> None:
    import weaver as wv

    catalog = wv.Catalog(tmp_path / "mine")
    catalog.write(wv.synthetic(50, "1h", symbol="AAA"))
    (tmp_path / "home").mkdir()
    server = make_server(tmp_path / "home", None, WEAVER_CATALOG=str(catalog.root)).start()
    try:
        with server.client() as client:
            symbols = [item["symbol"] for item in client.get("/api/v1/symbols").json()["items"]]
    finally:
        server.stop()

    assert symbols == ["AAA"]
    assert not (tmp_path / "home" / "catalog").exists()
    assert (ROOT / "data" / "GOOG.csv").is_file()
