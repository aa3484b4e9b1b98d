"""``python -m weaver``: the ``weaver`` command."""

from weaver.cli import console

raise SystemExit(console())
