"""The server of ``tools/bench --resumable``: one ``imgreg-api`` as ``tools/serve`` runs it
(the shipped configuration: SQLite, the filesystem store), with ``resumable_upload_dir``, in a
state directory of its own that goes with it."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .imgreg_server import start_imgreg, stop_groups


@contextlib.contextmanager
def resumable_server() -> Iterator[tuple[str, int]]:
    """The server's URL and PID (its process group's leader)."""
    with tempfile.TemporaryDirectory(prefix="bench-tus-") as tmp:
        state = Path(tmp) / "api"
        url, process = start_imgreg("tus", state, [f"resumable_upload_dir = {state / 'tus'}"])
        try:
            yield url, process.pid
        finally:
            stop_groups([process])
