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
    assert ">Look-ahead check<" in html and "no look-ahead found" in html
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


def test_a_wrong_type_lists_the_parameters_once(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    status = main(["report", "-p", "fast", "abc", "--out", str(tmp_path)])

    err = capsys.readouterr().err
    assert status == 2
    assert err.count("fast: int = 10") == 1 and err.count("symbol: str = 'GOOG'") == 1


MYSTRAT = """\
from weaver.strategy.examples import SmaCross


class MyClass(SmaCross):
    pass


def helper():
    return 1
"""


@pytest.fixture
def user_dir(user_dir: Path) -> Path:
    """The user's directory (tests/conftest.py), with the GOOG bars, ``mystrat.py`` and ``broken.py``."""
    (user_dir / "data").mkdir()
    shutil.copy(GOOG, user_dir / "data" / "GOOG.csv")
    (user_dir / "mystrat.py").write_text(MYSTRAT, encoding="utf-8")
    (user_dir / "broken.py").write_text("RATIO = 1 / 0\n", encoding="utf-8")
    return user_dir


@pytest.mark.parametrize("strategy", ["mystrat:MyClass", "strategies/filestrat.py:FileStrat"])
def test_report_on_a_strategy_of_the_working_directory(user_dir: Path, strategy: str) -> None:
    (user_dir / "strategies").mkdir()
    (user_dir / "strategies" / "filestrat.py").write_text(MYSTRAT.replace("MyClass", "FileStrat"), encoding="utf-8")

    done = weaver("report", "-p", "strategy", strategy, "-p", "fast", "15", "--out", "out", "--no-progress",
                  cwd=user_dir)

    assert done.returncode == 0, done.stderr[-3000:]
    html = (user_dir / "out" / "report.html").read_text(encoding="utf-8")
    expected = wv.backtest(SmaCross, wv.load_bars(GOOG), fast=15)
    assert embedded_stats(html) == stats_json(expected.stats)
    assert f"{strategy.rpartition(':')[2]}(fast=15, slow=30, qty=100)" in html


@pytest.mark.parametrize(("strategy", "needle"), [
    ("mystrat:MyClas", "cannot load strategy 'mystrat:MyClas': module mystrat ({dir}/mystrat.py) has no attribute "
                       "'MyClas'; its Strategy subclasses are: MyClass"),
    ("nostrat:MyClass", "no module 'nostrat' (looked in the working directory {dir} and sys.path)"),
    ("path/to/file.py:MyClass", "cannot load strategy 'path/to/file.py:MyClass': no file {dir}/path/to/file.py"),
    ("./path/file.py:MyClass", "no file {dir}/path/file.py"),
    ("mystrat:helper", "mystrat.helper is a function, not a weaver.Strategy subclass"),
    ("broken:MyClass", "importing broken ({dir}/broken.py) raised ZeroDivisionError: division by zero"),
    ("broken.py:MyClass", "({dir}/broken.py) raised ZeroDivisionError: division by zero"),
])
def test_a_strategy_that_cannot_load_is_refused_and_says_what_was_tried(
        user_dir: Path, strategy: str, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    before = list(sys.path)

    status = main(["report", "-p", "strategy", strategy, "--out", "out"])

    err = capsys.readouterr().err
    assert status == 2
    assert sys.path == before  # main() puts the working directory first only while it runs
    assert err.startswith("weaver report: error: ") and "Traceback" not in err
    assert needle.format(dir=user_dir) in err
    assert not (user_dir / "out").exists()


def test_a_custom_notebook_keeps_its_charts_offline(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "custom.ipynb",
        "import plotly.graph_objects as go\n"
        "go.Figure(go.Scatter(x=[1, 2, 3], y=[x * 1011, 2029, 3037]))",  # the cell's last expression
        "go.Figure(go.Bar(x=['a', 'b'], y=[4141, 5252])).show()",
    )

    done = weaver("report", str(nb), "-p", "x", "2", "--out", str(tmp_path / "out"), "--no-progress")

    assert done.returncode == 0, done.stderr[-3000:]
    html = (tmp_path / "out" / "custom.html").read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") >= 2
    assert "2022,2029,3037" in html.replace(" ", "") and "4141,5252" in html.replace(" ", "")
    assert html.count("* plotly.js v") == 1  # plotly.js inline, once
    assert "<script src=" not in html and not re.search(r"cdn\.plot\.ly/plotly", html)
    assert "use_offline_charts" not in html  # the injected cell's code is hidden like all code
    executed = nbformat.read(tmp_path / "out" / "custom.ipynb", as_version=4)
    assert executed.cells[0].metadata["tags"] == ["weaver-injected"]
    assert executed.metadata["papermill"]["input_path"] == str(nb)


def test_the_template_s_own_offline_call_is_harmless(tmp_path_factory: pytest.TempPathFactory) -> None:
    out, _ = shared_report(tmp_path_factory)
    html = (out / "sma_goog.html").read_text(encoding="utf-8")

    assert html.count("* plotly.js v") == 1
    assert html.count("Plotly.newPlot") >= 3


def test_the_command_runs_with_the_working_directory_first_on_sys_path(user_dir: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import weaver.reports.cli

    seen = []
    monkeypatch.setattr(weaver.reports.cli, "cmd_report", lambda args: seen.append(sys.path[0]) or 0)
    before = list(sys.path)

    assert main(["report"]) == 0

    assert seen == [str(user_dir)]  # as under python -m; the console script's own is its bin directory
    assert sys.path == before


PEEK = """\
import numpy as np

import weaver as wv


class Peek(wv.Strategy):
    \"\"\"Copies the closes in init() and trades on tomorrow's.\"\"\"

    def init(self):
        self.closes = np.asarray(self.data.close)

    def next(self):
        i = len(self.data) - 1
        if i + 1 < len(self.closes):
            if self.closes[i + 1] > self.closes[i] and not self.position:
                self.buy(size=0.95)
            elif self.closes[i + 1] < self.closes[i] and self.position:
                self.close()
"""


def test_the_report_shows_a_strategy_that_looks_ahead(user_dir: Path) -> None:
    (user_dir / "peek.py").write_text(PEEK, encoding="utf-8")

    done = weaver("report", "-p", "strategy", "peek:Peek", "-p", "params", "{}", "--out", "out", "--no-progress",
                  cwd=user_dir)

    assert done.returncode == 0, done.stderr[-3000:]
    html = (user_dir / "out" / "report.html").read_text(encoding="utf-8")
    assert "looks ahead" in html and "the strategy reads bars after the current one" in html
