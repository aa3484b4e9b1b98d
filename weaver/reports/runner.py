"""Run a parameterized report notebook with papermill and export it as standalone HTML.

The notebook declares its parameters in a cell tagged ``parameters``. Values given here are
checked before any kernel starts: a name must be one of the notebook's parameters or, when
the notebook has ``strategy`` and ``params``, one of the strategy's parameters (it then goes
into ``params``); a value must fit the parameter's type; the data file must exist.

Every notebook runs with offline charts: a first code cell, tagged ``weaver-injected``, calls
:func:`weaver.reports.notebook.use_offline_charts`, so plotly figures keep plotly.js inline in
the HTML whether or not the notebook asks for it.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weaver.core.errors import ParameterError, WeaverError

#: where ``weaver report`` looks for the template when no notebook is given
DEFAULT_NOTEBOOK = Path("notebooks") / "report.ipynb"
_REPO_NOTEBOOK = Path(__file__).resolve().parents[2] / DEFAULT_NOTEBOOK

# nbconvert's lab template without anything fetched from a CDN (require.js, MathJax,
# mermaid, the widget manager): the report must open offline.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""

#: the tag of the cell :func:`with_offline_charts` puts first
INJECTED_TAG = "weaver-injected"
_OFFLINE_CELL = """\
# added by `weaver report`: plotly charts carry plotly.js inline in the HTML (no network needed)
from weaver.reports.notebook import use_offline_charts

use_offline_charts()"""


class ReportError(WeaverError):
    """Raise when a report cannot be produced (missing notebook, a failing cell)."""


@dataclass(frozen=True)
class Report:
    """The files a report run wrote, and the parameters it ran with."""

    notebook: Path
    html: Path
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type_name: str
    default: Any
    help: str = ""

    def describe(self) -> str:
        return f"{self.name}: {self.type_name} = {self.default!r}"


def default_notebook() -> Path:
    """Return ``notebooks/report.ipynb`` of the working directory, else the repository's."""
    for candidate in (Path.cwd() / DEFAULT_NOTEBOOK, _REPO_NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise ReportError(f"no report notebook: {DEFAULT_NOTEBOOK} does not exist here; give the notebook's path")


def notebook_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """Return the parameters declared in ``notebook``'s cell tagged ``parameters``."""
    import papermill as pm

    found = {}
    for name, info in pm.inspect_notebook(str(notebook)).items():
        text = info.get("default")
        try:
            default = ast.literal_eval(text) if text is not None else None
        except (ValueError, SyntaxError):
            default = text
        type_name = info.get("inferred_type_name") or "None"
        if type_name == "None" and default is not None:
            type_name = type(default).__name__
        found[name] = NotebookParameter(name, type_name, default, info.get("help") or "")
    return found


def resolve_parameters(notebook: str | Path, given: dict[str, Any]) -> dict[str, Any]:
    """Check ``given`` against the notebook's parameters (and its strategy's); return papermill's.

    Raises
    ------
    ParameterError
        For an unknown name or a value of the wrong type; the message lists the notebook's
        parameters and the strategy's, with their types.
    DataError
        When the notebook has ``data_file``/``symbol`` and that file does not exist.
    """
    declared = notebook_parameters(notebook)
    strategy_cls = None
    if "strategy" in declared and "params" in declared:
        from weaver.strategy.examples import resolve

        name = given.get("strategy", declared["strategy"].default)
        if not isinstance(name, str):
            raise ParameterError(f"report parameter 'strategy' must be str, got {name!r} ({type(name).__name__})")
        strategy_cls = resolve(name)

    def listing() -> str:
        text = "the report's parameters are: " + ", ".join(p.describe() for p in declared.values())
        if strategy_cls is not None:
            text += f"; {strategy_cls.__name__}'s parameters are: {strategy_cls.describe_params()}"
        return text

    out: dict[str, Any] = {}
    strategy_values: dict[str, Any] = {}
    for key, value in given.items():
        if key in declared:
            out[key] = _check(declared[key], value, listing)
        elif strategy_cls is not None and key in strategy_cls.params:
            strategy_values[key] = value
        else:
            raise ParameterError(f"unknown report parameter {key!r}; {listing()}")
    if strategy_cls is not None:
        if "params" in given:
            base = dict(out["params"])
        elif "strategy" in given and given["strategy"] != declared["strategy"].default:
            base = {}  # the template's params belong to its default strategy
        else:
            base = dict(declared["params"].default or {})
        base.update(strategy_values)
        try:
            strategy_cls.validate_params(**base)
        except ParameterError as exc:
            # listing() names the strategy's parameters too: drop validate_params' own list
            own = f"; its parameters are: {strategy_cls.describe_params()}"
            raise ParameterError(f"{str(exc).removesuffix(own)}; {listing()}") from None
        out["params"] = base
    if "data_file" in declared and "symbol" in declared:
        from weaver.reports.notebook import data_path

        data_path(out.get("data_file", declared["data_file"].default), out.get("symbol", declared["symbol"].default))
    return out


def run_report(
    notebook: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    parameters_file: str | Path | None = None,
    out_dir: str | Path = "out",
    name: str | None = None,
    show_code: bool = False,
    progress: bool = True,
) -> Report:
    """Execute a report notebook with papermill and write ``<name>.ipynb`` and ``<name>.html``.

    Parameters
    ----------
    notebook
        Any notebook with a cell tagged ``parameters``; ``notebooks/report.ipynb`` by default.
        It runs with offline charts (see :func:`with_offline_charts`).
    parameters
        Values for the notebook's parameters, or for its strategy's (they go into ``params``).
    parameters_file
        A YAML mapping of parameters, applied before ``parameters``.
    out_dir
        Where the executed notebook and the HTML go (created when missing).
    name
        The files' base name; the notebook's name by default.
    show_code
        Keep the code cells in the HTML (hidden by default).
    progress
        Show papermill's progress bar on stderr.

    Raises
    ------
    ReportError
        When a cell fails: the message names the cell, and the partially executed notebook is
        kept in ``out_dir``.
    """
    import papermill as pm

    source = Path(notebook) if notebook else default_notebook()
    if not source.is_file():
        raise ReportError(f"report notebook {str(source)!r} does not exist")
    given: dict[str, Any] = {}
    if parameters_file:
        given.update(_read_parameters_file(Path(parameters_file)))
    given.update(parameters or {})
    final = resolve_parameters(source, {k: _plain(v) for k, v in given.items()})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or source.stem
    executed, html = out / f"{stem}.ipynb", out / f"{stem}.html"
    try:
        pm.execute_notebook(with_offline_charts(source), str(executed), parameters=final, progress_bar=progress,
                            cwd=os.getcwd(), request_save_on_cell_execute=True)
    except pm.PapermillExecutionError as exc:
        first = next((line for line in (exc.source or "").splitlines() if line.strip()), "")
        position = _source_position(_record_source(executed, source), exc.cell_index)
        raise ReportError(
            f"cell {position} of {source.name} (In [{exc.exec_count}]: {first.strip()!r}) raised "
            f"{exc.ename}: {exc.evalue}\nthe partially executed notebook is kept at {executed}"
        ) from None
    _record_source(executed, source)
    export_html(executed, html, show_code=show_code)
    return Report(executed, html, final)


def with_offline_charts(notebook: str | Path) -> Any:
    """Return ``notebook`` (read, not changed on disk) with a first cell calling ``use_offline_charts()``.

    The cell is tagged ``weaver-injected``. Without it, a notebook's plotly figures use plotly's
    notebook renderer, whose HTML needs require.js, which the standalone export leaves out: the
    charts would vanish. A notebook that calls ``use_offline_charts()`` itself is unaffected
    (a second call changes nothing).

    Returns
    -------
    nbformat.NotebookNode
        The notebook, as papermill's ``execute_notebook`` accepts it in place of a path.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    nb = nbformat.v4.upgrade(nb) or nb  # cells need ids (nbformat 4.5) to add one
    cell = nbformat.v4.new_code_cell(_OFFLINE_CELL)
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(0, cell)
    return nb


def _record_source(executed: Path, source: Path) -> Any:
    """Record ``source`` as the executed notebook's input (given a node, papermill records the node); return it."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    nb.metadata.setdefault("papermill", {})["input_path"] = str(source)
    nbformat.write(nb, str(executed))
    return nb


def _source_position(executed_nb: Any, index: int) -> int:
    """Return where the executed cell ``index`` (papermill's ``cell_index``) is in the source, counting from 1.

    The cells ``weaver report`` and papermill added (offline charts, injected parameters,
    error markers) are not counted: the position is the one the notebook's author sees.
    """
    added = {INJECTED_TAG, "injected-parameters"}
    ran = [c for c in executed_nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    return 1 + sum(1 for c in ran[:index] if not added & set(c.metadata.get("tags", [])))


def export_html(notebook: str | Path, html: str | Path, *, show_code: bool = False) -> Path:
    """Write ``notebook`` as one self-contained HTML file (code hidden unless ``show_code``)."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"weaver_report.html.j2": _TEMPLATE})],
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code,
    )
    exporter.template_file = "weaver_report.html.j2"
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(html).stem}})
    target = Path(html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def _check(p: NotebookParameter, value: Any, listing: Any) -> Any:
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "dict": isinstance(value, dict),
        "list": isinstance(value, list),
        "str": isinstance(value, str | int | float) and not isinstance(value, bool),
    }.get(p.type_name, True)
    if not ok:
        raise ParameterError(
            f"report parameter {p.name!r} must be {p.type_name}, got {value!r} ({type(value).__name__}); {listing()}")
    if p.type_name == "float":
        return float(value)
    if p.type_name == "str":
        return str(value)
    return value


def _plain(value: Any) -> Any:
    """Return ``value`` as papermill can write it into a notebook (a date as ISO text)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read_parameters_file(path: Path) -> dict[str, Any]:
    import yaml

    from weaver.core.errors import DataError

    if not path.is_file():
        raise DataError(f"parameters file {str(path)!r} does not exist")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameters file {str(path)!r} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(f"parameters file {str(path)!r} must hold a mapping of name: value, got {type(loaded).__name__}")
    return loaded
