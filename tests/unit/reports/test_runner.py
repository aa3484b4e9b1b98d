"""Report parameters, data lookup, offline charts and the HTML template, without a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weaver.core.errors import DataError, ParameterError
from weaver.reports import export_html
from weaver.reports.notebook import data_path, load, stats_json, use_offline_charts
from weaver.reports.runner import _REPO_NOTEBOOK, notebook_parameters, resolve_parameters

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_the_template_declares_its_parameters() -> None:
    declared = notebook_parameters(_REPO_NOTEBOOK)

    assert {k: (p.type_name, p.default) for k, p in declared.items()} == {
        "strategy": ("str", "sma_cross"), "params": ("dict", {"fast": 10, "slow": 30}),
        "data_file": ("str", ""), "symbol": ("str", "GOOG"), "start": ("None", None), "end": ("None", None),
        "cash": ("float", 100_000.0), "commission": ("float", 0.0),
    }


def test_strategy_parameters_go_into_params() -> None:
    resolved = resolve_parameters(_REPO_NOTEBOOK, {"fast": 20, "qty": 5, "cash": 50_000, "start": "2006-01-01"})

    assert resolved == {"params": {"fast": 20, "slow": 30, "qty": 5}, "cash": 50_000.0, "start": "2006-01-01"}


def test_another_strategy_does_not_inherit_the_template_params() -> None:
    resolved = resolve_parameters(_REPO_NOTEBOOK, {"strategy": "rsi_reversion", "period": 10})

    assert resolved == {"strategy": "rsi_reversion", "params": {"period": 10}}


def test_errors_list_the_report_and_strategy_parameters() -> None:
    with pytest.raises(ParameterError) as unknown:
        resolve_parameters(_REPO_NOTEBOOK, {"speed": 3})
    with pytest.raises(ParameterError) as wrong:
        resolve_parameters(_REPO_NOTEBOOK, {"params": {"fast": "x"}})

    assert "unknown report parameter 'speed'" in str(unknown.value)
    assert "symbol: str = 'GOOG'" in str(unknown.value) and "SmaCross's parameters are: fast: int = 10" in str(unknown.value)
    assert "SmaCross.fast must be int, got 'x'" in str(wrong.value)


def test_data_path_names_the_missing_file_and_searches_parents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "notebooks")

    assert data_path("", "GOOG") == ROOT / "data" / "GOOG.csv"
    with pytest.raises(DataError, match=r"data file 'data/NOPE\.csv' not found"):
        data_path("", "NOPE")


def test_load_slices_and_names_the_bars() -> None:
    bars = load("data/GOOG.csv", "ALPHABET", "2010-01-01", "2010-12-31")

    assert bars.attrs["symbol"] == "ALPHABET"
    assert str(bars.index[0].date()) == "2010-01-04" and str(bars.index[-1].date()) == "2010-12-31"
    with pytest.raises(DataError, match="no bars"):
        load("", "GOOG", "2020-01-01", None)


def test_stats_json_is_plain_json() -> None:
    import pandas as pd

    stats = pd.Series({"start": pd.Timestamp("2020-01-01", tz="UTC"), "n": 3, "x": float("nan"),
                       "d": pd.Timedelta(days=2), "f": 0.5}, dtype=object)

    assert json.loads(json.dumps(stats_json(stats))) == {
        "start": "2020-01-01T00:00:00+00:00", "n": 3, "x": None, "d": "P2DT0H0M0S", "f": 0.5}


def test_offline_renderer_emits_html_without_plotlyjs_or_cdn() -> None:
    import plotly.graph_objects as go
    import plotly.io as pio

    before = pio.renderers.default
    try:
        use_offline_charts()
        renderer = pio.renderers["weaver_offline"]
        bundle = renderer.to_mimebundle(go.Figure(go.Scatter(y=[1, 2])).to_dict())
    finally:
        pio.renderers.default = before

    assert set(bundle) == {"text/html"}
    assert "Plotly.newPlot" in bundle["text/html"] and "<script src" not in bundle["text/html"]


def test_html_export_fetches_nothing(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nbformat.write(nb, tmp_path / "n.ipynb")

    hidden = export_html(tmp_path / "n.ipynb", tmp_path / "hidden.html").read_text()
    shown = export_html(tmp_path / "n.ipynb", tmp_path / "shown.html", show_code=True).read_text()

    for html in (hidden, shown):
        assert "<script src=" not in html and "cdnjs" not in html and "mathjax" not in html.lower()
    assert "1 + 1" not in hidden and ">Title<" in hidden
    assert "1</span> <span class=\"o\">+</span>" in shown or "1 + 1" in shown


def test_a_wrong_type_lists_each_parameter_once() -> None:
    with pytest.raises(ParameterError) as wrong:
        resolve_parameters(_REPO_NOTEBOOK, {"fast": "abc"})

    message = str(wrong.value)
    assert message.startswith("SmaCross.fast must be int, got 'abc'")
    assert message.count("slow: int = 30") == 1 and message.count("cash: float = 100000.0") == 1


MYSTRAT = "from weaver.strategy.examples import SmaCross\n\n\nclass MyStrat(SmaCross):\n    pass\n"


@pytest.fixture
def user_dir(user_dir: Path) -> Path:
    """The user's directory (tests/conftest.py), holding ``mystrat.py``."""
    (user_dir / "mystrat.py").write_text(MYSTRAT, encoding="utf-8")
    return user_dir


@pytest.mark.parametrize("strategy", ["mystrat:MyStrat", "mystrat.py:MyStrat", "sub/../mystrat.py:MyStrat"])
def test_a_strategy_of_the_working_directory_is_checked_with_its_parameters(user_dir: Path, strategy: str) -> None:
    given = {"strategy": strategy, "fast": 5, "data_file": str(ROOT / "data" / "GOOG.csv")}
    (user_dir / "sub").mkdir()

    resolved = resolve_parameters(_REPO_NOTEBOOK, given)

    assert resolved["params"] == {"fast": 5}
    with pytest.raises(ParameterError, match="MyStrat's parameters are: fast: int = 10"):
        resolve_parameters(_REPO_NOTEBOOK, {**given, "fsat": 5})


def test_a_strategy_that_cannot_load_is_a_parameter_error_naming_what_was_tried(user_dir: Path) -> None:
    with pytest.raises(ParameterError, match=r"module mystrat \(.*mystrat\.py\) has no attribute 'MyStart'; "
                                             r"its Strategy subclasses are: MyStrat$"):
        resolve_parameters(_REPO_NOTEBOOK, {"strategy": "mystrat:MyStart"})


def test_every_notebook_gets_offline_charts_in_a_first_injected_cell(tmp_path: Path) -> None:
    import nbformat

    from weaver.reports.runner import with_offline_charts

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Mine"), nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "mine.ipynb")

    prepared = with_offline_charts(tmp_path / "mine.ipynb")

    first = prepared.cells[0]
    assert first.cell_type == "code" and first.metadata["tags"] == ["weaver-injected"]
    assert "use_offline_charts()" in first.source
    assert [c.source for c in prepared.cells[1:]] == ["# Mine", "x = 1"]
    assert nbformat.read(tmp_path / "mine.ipynb", as_version=4).cells[0].source == "# Mine"  # the file is untouched
