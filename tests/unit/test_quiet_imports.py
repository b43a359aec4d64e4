"""No command prints a warning about a library imgreg does not use: oslo.messaging imports
eventlet, which warns on import that it is deprecated (``imgreg.conf.notifications``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "imgreg-manage"), "--help"],
        [sys.executable, "-c", "import imgreg.wsgi"],
        [sys.executable, "-c", "import imgreg.services.messaging"],
    ],
    ids=["imgreg-manage", "imgreg.wsgi", "imgreg.services.messaging"],
)
def test_no_eventlet_warning(command):
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "Eventlet" not in result.stderr and "Warning" not in result.stderr, result.stderr
