"""``tools/bench --phases`` runs the named phases only (after the server check)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    return importlib.import_module("benchlib.cli"), importlib.import_module("benchlib.run")


def test_phases_are_parsed_and_checked(bench):
    cli, _ = bench
    args = cli.parse_args(["http://x", "--phases", "upload, upload4"])
    assert args.phases == ["upload", "upload4"]
    assert cli.parse_args(["http://x"]).phases is None
    with pytest.raises(SystemExit):
        cli.parse_args(["http://x", "--phases", "upload,uploads"])


def test_only_the_named_phases_run_after_the_check(bench, monkeypatch):
    _, run = bench
    ran = []

    def phase(name):
        def func(target, sizes, *extra):
            ran.append(name)
            return {}

        return func

    monkeypatch.setattr(run, "PHASES", [(name, phase(name), False) for name in run.PHASE_NAMES])

    class Target:
        label = "A"
        results: dict = {}

    class Payload:
        def digest(self, algo):
            return b""

    assert run.run_phases([Target()], None, Payload(), only=["upload4", "upload"]) is None
    assert ran == ["check", "upload", "upload4"]
