"""``imgreg-api`` as ``tools/serve`` runs it (the shipped configuration: SQLite), in a state
directory of the bench's, for the benchmarks that start their own servers (``--cache``,
``--resumable``); and the stopping of such a server's process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"bench: {what} did not start:\n{tail}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/versions", timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def start_imgreg(
    label: str, state: Path, default: Iterable[str] = (), store: dict[str, object] | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """An ``imgreg-api`` with its database synced in ``state`` (made here), ``default``
    (``name = value`` lines) added to ``[DEFAULT]`` and ``store`` as ``[glance_store]``; its
    URL and process (the leader of a process group of its own), once it answers."""
    state.mkdir(parents=True)
    port = free_port()
    lines = ["[DEFAULT]", f"bind_port = {port}", f"state_path = {state}", *default]
    if store:
        lines += ["[glance_store]", *(f"{name} = {value}" for name, value in store.items())]
    conf = state / "bench.conf"
    conf.write_text("\n".join(lines) + "\n")
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
            [str(BIN / "imgreg-api"), *config], cwd=state, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"imgreg-api ({label})", lambda: answers(url), process, log)
    except BaseException:
        stop_groups([process])
        raise
    return url, process


def stop_groups(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process group (the last started first), SIGKILL to what is left 20 s
    later."""
    for process in reversed(processes):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
