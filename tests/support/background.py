"""``tool_running``: a ``tools/`` script that serves in the background (``tools/keystone``,
``tools/swift``) for as long as a fixture needs it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import ROOT


@contextlib.contextmanager
def tool_running(
    name: str,
    state: Path,
    timeout: float,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Start ``tools/<name> STATE [ARGS]`` (``env`` added to the environment) in its own
    process group (its servers go with it), wait until it has written ``STATE/<name>.json``,
    yield that, and stop it (SIGTERM, then SIGKILL to the group) afterwards. Fails the test
    with the tool's log if it does not come up in ``timeout`` seconds."""
    info_path = state / f"{name}.json"
    log_path = state / f"tools-{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "tools" / name), str(state), *args],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not info_path.exists():
            if process.poll() is not None:
                pytest.fail(f"tools/{name} exited with {process.returncode}:\n"
                            f"{log_path.read_text(errors='replace')[-5000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                pytest.fail(f"tools/{name} not ready within {timeout:.0f} s:\n"
                            f"{log_path.read_text(errors='replace')[-5000:]}")  # fmt: skip
            time.sleep(0.2)
        yield json.loads(info_path.read_text())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
