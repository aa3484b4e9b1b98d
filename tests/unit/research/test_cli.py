from __future__ import annotations

import json

import pytest

from weaver.cli import main

from .conftest import GOOG


def test_sweep_prints_the_best_rows(capsys) -> None:
    code = main(["sweep", "sma_cross", str(GOOG), "-g", "fast", "5:20:5", "-g", "slow", "30,60",
                 "--constraint", "fast < slow", "--top", "3", "--no-progress"])

    out = capsys.readouterr().out
    assert code == 0
    assert "SmaCross sweep on" in out and "8 rows (0 failed), vectorized" in out
    assert "best: fast=" in out


def test_sweep_json_and_csv(tmp_path, capsys) -> None:
    csv = tmp_path / "rows.csv"
    code = main(["sweep", "sma_cross", str(GOOG), "-g", "fast", "10", "-g", "slow", "30", "--method", "event",
                 "--workers", "1", "--json", "--csv", str(csv), "--no-progress"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["summary"]["executor"] == "in-process"
    assert (payload["rows"][0]["n_trades"], payload["rows"][0]["n_open_trades"]) == (32, 1)
    assert payload["best"] == {"fast": 10, "slow": 30, "qty": 100}
    assert csv.read_text().startswith("fast,slow,start")


def test_walk_forward_command(capsys) -> None:
    code = main(["sweep", "sma_cross", str(GOOG), "-g", "fast", "5,10", "-g", "slow", "30",
                 "--walk-forward", "800", "600", "--no-progress"])

    assert code == 0
    assert "walk-forward" in capsys.readouterr().out


def test_bad_grid_is_an_error_exit(capsys) -> None:
    code = main(["sweep", "sma_cross", str(GOOG), "-g", "speed", "1:3", "--no-progress"])

    assert code == 2
    assert "no parameter 'speed'" in capsys.readouterr().err


def test_help_describes_the_grid(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "START:STOP[:STEP]" in capsys.readouterr().out
