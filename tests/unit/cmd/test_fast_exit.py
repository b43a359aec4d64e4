"""Every imgreg command exits without the interpreter's last search of its heap for cycles
(``imgreg.cmd.fast_exit``): half a second of CPU in each imgreg-api process at every stop."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# a cycle with a finalizer, garbage when the script ends: only the collector's search finds it
CYCLE = """
import os
class Cyclic:
    def __del__(self):
        os.write(1, b"searched")
c = Cyclic()
c.me = c
del c
"""


def run(prelude: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", prelude + CYCLE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    return result.stdout


def test_without_it_the_interpreter_searches_the_heap_at_exit():
    """The premise: the search this saves happens at a plain exit."""
    assert run("") == "searched"


def test_an_imgreg_command_exits_without_searching_the_heap():
    assert run("import imgreg.cmd\n") == ""


def test_installing_twice_registers_one_handler(monkeypatch):
    from imgreg.cmd import fast_exit

    registered = []
    monkeypatch.setattr(fast_exit, "_installed", False)
    monkeypatch.setattr(fast_exit.atexit, "register", registered.append)
    fast_exit.install()
    fast_exit.install()
    assert len(registered) == 1


def test_every_console_script_is_an_imgreg_cmd_module():
    """So every command imports ``imgreg.cmd`` first, and with it the handler."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts
    for name, target in scripts.items():
        assert target.startswith("imgreg.cmd."), f"{name} = {target}"
