"""weaver.sim depends on weaver.core (and numpy, lazily) only."""

from __future__ import annotations

import subprocess
import sys


def test_importing_sim_loads_nothing_of_the_outer_layers() -> None:
    code = (
        "import sys; import weaver.sim; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith(('weaver', 'pandas')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()

    allowed = ("weaver.core", "weaver.sim")
    assert [m for m in out if not m.startswith(allowed) and m != "weaver"] == []
