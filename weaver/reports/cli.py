"""``weaver report``: execute the report notebook with papermill and export standalone HTML."""

from __future__ import annotations

import argparse
from typing import Any

_DESCRIPTION = """\
Execute a report notebook (notebooks/report.ipynb by default, or any notebook with a cell
tagged parameters) with papermill and write DIR/<name>.ipynb and DIR/<name>.html (plotly
charts interactive, no network needed, code hidden unless --show-code). -p sets a notebook
parameter (strategy, params, data_file, symbol, start, end, cash, commission) or one of the
strategy's parameters (it goes into params); values are read as YAML scalars. The strategy is
an example name, module:Class (the module found in the working directory first, as with
python -m) or path/to/file.py:Class. Examples:

  weaver report -p strategy sma_cross -p fast 20 -p symbol GOOG --out out/report
  weaver report -p strategy mystrat:MyStrategy --out out/mine     # ./mystrat.py
  weaver report -p strategy strategies/mine.py:MyStrategy --out out/mine
"""


def add_parser(sub: Any) -> None:
    """Add the ``report`` command to the ``weaver`` command's subparsers."""
    parser = sub.add_parser("report", help="run the report notebook with papermill and write HTML",
                            description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", nargs="?", default=None,
                        help="a notebook with a parameters cell (default: notebooks/report.ipynb)")
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="a notebook or strategy parameter (repeatable)")
    parser.add_argument("-f", "--parameters-file", metavar="PARAMS.yaml",
                        help="a YAML mapping of parameters (-p values override it)")
    parser.add_argument("--out", default="out", metavar="DIR", help="output directory (default: out)")
    parser.add_argument("--name", default=None, help="base name of the output files (default: the notebook's)")
    parser.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML")
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Run the report; print the executed notebook's and the HTML's paths."""
    from weaver.cli import _params
    from weaver.reports.runner import run_report

    report = run_report(args.notebook, _params(args.param), parameters_file=args.parameters_file,
                        out_dir=args.out, name=args.name, show_code=args.show_code, progress=not args.no_progress)
    print(f"notebook: {report.notebook.resolve()}")
    print(f"html: {report.html.resolve()}")
    return 0
