"""The server of ``tools/bench --resumable``: one ``imgreg-api`` as ``tools/serve`` runs it
(the shipped configuration: SQLite, the filesystem store), with ``resumable_upload_dir``, in a
state directory of its own that goes with it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/versions", timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def resumable_server() -> Iterator[tuple[str, int]]:
    """The server's URL and PID (its process group's leader)."""
    with tempfile.TemporaryDirectory(prefix="bench-tus-") as tmp:
        state = Path(tmp)
        port = _free_port()
        conf = state / "bench.conf"
        conf.write_text(
            f"[DEFAULT]\nbind_port = {port}\nstate_path = {state}\n"
            f"resumable_upload_dir = {state / 'tus'}\n"
        )
        config = [
            "--config-file", str(ROOT / "etc" / "imgreg-api.conf"),
            "--config-file", str(ROOT / "etc" / "imgreg-serve.conf"),
            "--config-file", str(conf),
        ]  # fmt: skip
        subprocess.run([str(BIN / "imgreg-manage"), *config, "db", "sync"], check=True,
                       cwd=state, stdout=subprocess.DEVNULL)  # fmt: skip
        log = state / "api.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "imgreg-api"), *config], cwd=state, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench: imgreg-api did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield url, process.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
