"""``weaver report`` end to end: papermill runs the template, the HTML carries the right numbers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

import weaver as wv
from weaver.cli import main
from weaver.reports.notebook import stats_json
from weaver.strategy.examples import SmaCross

from .reporting import ROOT, shared_report, weaver

GOOG = ROOT / "data" / "GOOG.csv"
pytestmark = pytest.mark.slow


def embedded_stats(html: str) -> dict:
    found = re.search(r"<script[^>]*\bid=[\"']weaver-stats-json[\"'][^>]*>(.*?)</script>", html, re.S)
    assert found, "no embedded statistics in the HTML"
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_report_html_has_the_stats_of_the_same_backtest(tmp_path_factory: pytest.TempPathFactory) -> None:
    out, done = shared_report(tmp_path_factory)
    html = (out / "sma_goog.html").read_text(encoding="utf-8")

    bars = wv.load_bars(GOOG).loc["2006-01-01":]
    expected = wv.backtest(SmaCross, bars, fast=15, slow=40, commission=0.001)

    assert embedded_stats(html) == stats_json(expected.stats)
    assert f"html: {(out / 'sma_goog.html').resolve()}" in done.stdout
    assert (out / "sma_goog.ipynb").is_file()
    for section in ("Summary statistics", "Equity and drawdown", "Monthly returns", "Trades", "Trade return distribution"):
        assert f">{section}<" in html
    assert "SmaCross(fast=15, slow=40, qty=100)" in html
    assert "use_offline_charts" not in html  # code hidden by default
    assert "Executing" in done.stderr  # papermill's progress bar


def test_parameters_file_symbol_and_the_repository_template(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    shutil.copy(GOOG, tmp_path / "data" / "ALT.csv")
    params = tmp_path / "params.yaml"
    params.write_text("symbol: ALT\nparams: {fast: 5, slow: 20}\nend: 2007-12-31\n", encoding="utf-8")

    done = weaver("report", "-f", str(params), "-p", "slow", "25", "--out", "out", cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    bars = wv.load_bars(tmp_path / "data" / "ALT.csv").loc[:"2007-12-31"]
    expected = wv.backtest(SmaCross, bars, fast=5, slow=25)
    assert embedded_stats(html) == stats_json(expected.stats)
    assert "SmaCross on ALT" in html


@pytest.mark.parametrize(("args", "needles"), [
    (["-p", "fsat", "3"], ["unknown report parameter 'fsat'", "fast: int = 10", "cash: float"]),
    (["-p", "fast", "abc"], ["SmaCross.fast must be int, got 'abc'", "slow: int = 30"]),
    (["-p", "fast", "2.5"], ["SmaCross.fast must be int, got 2.5"]),
    (["-p", "cash", "lots"], ["report parameter 'cash' must be float, got 'lots'", "qty: int = 100"]),
    (["-p", "params", "[1]"], ["report parameter 'params' must be dict"]),
    (["-p", "strategy", "nope"], ["unknown strategy 'nope'"]),
    (["-p", "symbol", "NOPE"], ["data file 'data/NOPE.csv' not found"]),
    (["-f", "missing.yaml"], ["parameters file 'missing.yaml' does not exist"]),
])
def test_bad_input_is_refused_before_any_kernel_starts(args: list[str], needles: list[str], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    status = main(["report", *args, "--out", str(tmp_path)])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("weaver report: error: ")
    for needle in needles:
        assert needle in err
    assert not list(tmp_path.iterdir())


def make_notebook(path: Path, *sources: str) -> Path:
    cells = [nbformat.v4.new_code_cell("x = 1"), *(nbformat.v4.new_code_cell(s) for s in sources)]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}})
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_names_the_cell_and_keeps_the_partial_notebook(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "broken.ipynb", "y = x + 1\nprint(y)", "# divide\nz = y / (x - 1)", "print('never')")

    done = weaver("report", str(nb), "-p", "x", "1", "--out", str(tmp_path / "out"), "--no-progress")

    assert done.returncode == 2
    assert "cell 3" in done.stderr and "'# divide'" in done.stderr
    assert "ZeroDivisionError" in done.stderr
    partial = tmp_path / "out" / "broken.ipynb"
    assert f"kept at {partial}" in done.stderr
    executed = nbformat.read(partial, as_version=4)
    assert any("2" in o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert not (tmp_path / "out" / "broken.html").exists()


def test_show_code_keeps_the_code_and_custom_notebooks_take_their_own_parameters(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "tiny.ipynb", "print('value', x * 2)")

    done = weaver("report", str(nb), "-p", "x", "21", "--out", str(tmp_path), "--show-code", "--no-progress")

    assert done.returncode == 0, done.stderr
    html = (tmp_path / "tiny.html").read_text(encoding="utf-8")
    assert "value 42" in html and "print" in html
    assert "<script src=" not in html


def test_every_command_has_help() -> None:
    for command in ([], ["backtest"], ["report"]):
        done = weaver(*command, "--help")
        assert done.returncode == 0 and "usage: weaver" in done.stdout
    assert "-p NAME VALUE" in weaver("report", "--help").stdout
