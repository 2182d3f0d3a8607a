"""What a default install (no extras) relies on: the command line never needs an optional
package. The transformers extra (torch) is heavy and optional; importing Veille must not load it."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("torch", "transformers")


def test_the_command_line_loads_no_optional_package() -> None:
    code = (
        "import sys, veille.cli, veille.app, veille.demo.scenario; "
        f"print([m for m in sys.modules if m.split('.')[0] in {OPTIONAL!r}])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
