"""``weaver data import`` and ``weaver data list``: the catalog under a temporary WEAVER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from weaver.catalog import Catalog
from weaver.cli import main

ROOT = Path(__file__).resolve().parents[3]
GOOG = ROOT / "data" / "GOOG.csv"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WEAVER_HOME, and an empty working directory (no .env is read)."""
    for name in list(os.environ):
        if name.startswith("WEAVER_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("WEAVER_HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def test_import_adds_a_csv_to_the_catalog_under_weaver_home_and_list_shows_it(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imported = main(["data", "import", str(GOOG), "--symbol", "GOOG"])
    out = capsys.readouterr().out
    listed = main(["data", "list"])
    table = capsys.readouterr().out

    assert imported == 0 and listed == 0
    assert "GOOG 1d: 2,148 bars, 2004-08-19 .. 2013-03-01" in out and str(home / "catalog") in out
    assert Catalog(home / "catalog").symbols() == ["GOOG"]
    lines = table.splitlines()
    assert lines[0] == f"catalog: {home / 'catalog'}"
    assert lines[1].split() == ["symbol", "timeframe", "bars", "first", "last", "(UTC)"]
    assert lines[2].split() == ["GOOG", "1d", "2,148", "2004-08-19", "2013-03-01"]


def test_weaver_catalog_moves_the_catalog(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAVER_CATALOG", str(tmp_path / "elsewhere"))

    assert main(["data", "import", str(GOOG), "--symbol", "ALPHABET", "--timeframe", "1d"]) == 0

    assert Catalog(tmp_path / "elsewhere").symbols() == ["ALPHABET"]
    assert not (home / "catalog").exists()


def test_intraday_bars_list_with_their_times(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "btc.csv"
    path.write_text("timestamp;open;high;low;close;volume\n"
                    "02.01.2024 09:30;1.5;2;1;1.5;10\n02.01.2024 09:31;1.5;2;1;1.75;12\n")

    code = main(["data", "import", str(path), "--symbol", "BTC/USD", "--sep", ";", "--dayfirst",
                 "--tz", "Europe/Berlin"])
    capsys.readouterr()
    main(["data", "list"])

    assert code == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row == ["BTC/USD", "1m", "2", "2024-01-02", "08:30", "2024-01-02", "08:31"]


def test_importing_a_symbol_again_needs_replace(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["data", "import", str(GOOG), "--symbol", "GOOG"])
    capsys.readouterr()

    again = main(["data", "import", str(GOOG), "--symbol", "GOOG"])
    err = capsys.readouterr().err
    replaced = main(["data", "import", str(GOOG), "--symbol", "GOOG", "--replace"])

    assert again == 2 and replaced == 0
    assert len(err.strip().splitlines()) == 1
    assert "GOOG 1d is in the catalog already (2,148 bars" in err and "--replace" in err


@pytest.mark.parametrize(("body", "fragments"), [
    ("Datetime,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,0.2,0.5,1.5,10\n",
     ["bad.csv row 3, column 'High', value 0.2: high is below low"]),
    ("Datetime,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,abc,10\n", ["bad.csv row 2, column 'Close'", "not a number"]),
    ("Date,Open,High,Low,Volume\n2020-01-01,1,2,0.5,10\n", ["bad.csv: missing required column 'close'"]),
])
def test_a_bad_file_is_one_line_naming_file_row_and_column_and_nothing_is_written(
        home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)

    code = main(["data", "import", str(path), "--symbol", "BAD"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("weaver data: error: ") and len(err.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in err
    assert Catalog(home / "catalog").symbols() == []


def test_a_catalog_that_cannot_be_written_is_one_line(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WEAVER_CATALOG", str(blocker / "catalog"))

    code = main(["data", "import", str(GOOG), "--symbol", "GOOG"])

    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"cannot write to the catalog {blocker / 'catalog'}" in err


def test_an_empty_catalog_says_how_to_fill_it(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "list"])

    out = capsys.readouterr().out
    assert code == 0
    assert "is empty" in out and "weaver data import FILE --symbol SYMBOL" in out


def test_the_command_reports_a_missing_file_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEAVER_")}
    env.update(WEAVER_HOME=str(tmp_path), PYTHONPATH=str(ROOT))

    done = subprocess.run([sys.executable, "-m", "weaver", "data", "import", "nope.csv", "--symbol", "X"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert done.stderr.strip() == "weaver data: error: nope.csv: no such file"
