"""The layering and the import cost, checked on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")

    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_results_and_charts_do_not_import_the_engine() -> None:
    lint = Path(sys.executable).with_name("lint-imports")

    done = subprocess.run([str(lint), "--contract", "results-without-engine"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)

    assert done.returncode == 0 and "1 kept, 0 broken" in done.stdout, done.stdout + done.stderr


def test_a_result_module_imports_its_charts_only_when_a_chart_is_asked_for() -> None:
    code = ("import sys, weaver.backtesting.result; "
            "print(','.join(m for m in ('weaver.backtesting.plots', 'plotly') if m in sys.modules))")

    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)

    assert done.stdout.strip() == ""


def test_import_weaver_loads_no_heavy_library() -> None:
    heavy = ["pandas", "numpy", "plotly", "vectorbt", "numba", "fastapi", "sqlalchemy",
             "alpaca", "dask", "scipy", "empyrical", "pyarrow", "ipywidgets"]
    code = ("import sys, weaver; heavy = %r; "
            "print(','.join(m for m in heavy if m in sys.modules))" % heavy)

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert done.stdout.strip() == ""


def test_public_names_resolve_lazily() -> None:
    import weaver

    for name in weaver.__all__:
        assert getattr(weaver, name) is not None, name


def test_importing_a_subpackage_does_not_hide_a_public_function() -> None:
    code = ("import weaver as wv, weaver.backtesting.engine, weaver.backtesting.plots; "
            "assert callable(wv.backtest) and callable(wv.compare); print('ok')")

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    assert done.stdout.strip() == "ok", done.stderr
