"""The README's Python snippets run as written (executable docs)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_snippets_run_in_order(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("WEAVER_HOME", str(tmp_path))  # the store snippet writes there, never to ~/.weaver
    monkeypatch.delenv("WEAVER_DATABASE_URL", raising=False)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    namespace: dict[str, object] = {}

    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    assert len(blocks) >= 3
    assert len(namespace["res"].trades) == 33
    assert len(namespace["sw"].frame) == 90
    assert len(namespace["wf"].folds) >= 3
    assert [e.type for e in namespace["events"]] == ["run.created", "run.completed"]
    assert (tmp_path / "weaver.db").exists()
    assert os.getcwd() == str(ROOT)


def test_readme_lists_every_notebook_and_the_fill_rules() -> None:
    text = (ROOT / "README.md").read_text()

    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"| `{notebook.name}` |" in text, notebook.name
    assert "### Fill rules" in text and "trailing stop" in text and "Time in force" in text


def test_readme_lists_every_run_option() -> None:
    import dataclasses

    from weaver.core import RunConfig

    text = (ROOT / "README.md").read_text()

    for f in dataclasses.fields(RunConfig):
        assert f"| `{f.name}` |" in text, f.name
