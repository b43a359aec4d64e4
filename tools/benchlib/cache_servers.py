"""The servers of the cache benchmark (``tools/bench --cache``): a real Swift (``tools/swift``)
and three ``imgreg-api`` as ``tools/serve`` runs it (the shipped configuration, SQLite), each
with its own state directory:

* ``cached``: the Swift store and the image cache (``image_cache_dir``);
* ``swift``: the Swift store, no cache (a download as it is without one);
* ``file``: the filesystem store, no cache (the speed a cached copy is measured against).

The Swift store keeps its options at their defaults (``swift_store_large_object_*``: an image
of 512 MiB is one object), as a deployment would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
START_TIMEOUT = 120.0


@dataclass
class Server:
    label: str
    url: str
    pid: int
    cache_dir: Path | None = None  # image_cache_dir, when it has one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(what: str, ready: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():  # type: ignore[operator]
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"bench: {what} did not start:\n{tail}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/versions", timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def _config(state: Path, port: int, store: dict[str, object], cache: bool) -> Path:
    lines = [
        "[DEFAULT]",
        f"bind_port = {port}",
        f"state_path = {state}",
    ]
    if cache:
        lines += [f"image_cache_dir = {state / 'cache'}", "image_cache_period = 0"]
    lines.append("[glance_store]")
    lines += [f"{name} = {value}" for name, value in store.items()]
    path = state / "bench.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _imgreg(
    label: str, state: Path, store: dict[str, object], cache: bool
) -> tuple[Server, subprocess.Popen[bytes]]:
    state.mkdir(parents=True)
    port = free_port()
    config = [
        "--config-file", str(ROOT / "etc" / "imgreg-api.conf"),
        "--config-file", str(ROOT / "etc" / "imgreg-serve.conf"),
        "--config-file", str(_config(state, port, store, cache)),
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
    _wait_until(f"imgreg-api ({label})", lambda: _answers(url), process, log)
    return Server(label, url, process.pid, state / "cache" if cache else None), process


@contextlib.contextmanager
def cache_servers() -> Iterator[tuple[dict[str, Server], list[int]]]:
    """The three servers by label, and Swift's PIDs (its process group's leader first)."""
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        root = Path(tmp)
        try:
            swift_state = root / "swift-server"
            swift_state.mkdir()
            log = root / "swift.log"
            with log.open("wb") as out:
                swift = subprocess.Popen(
                    [str(ROOT / "tools" / "swift"), str(swift_state)], stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            processes.append(swift)
            info_path = swift_state / "swift.json"
            _wait_until("tools/swift", info_path.exists, swift, log)
            info = json.loads(info_path.read_text())
            swift_store = {
                "default_store": "swift",
                "swift_store_auth_address": info["auth_url"],
                "swift_store_auth_version": info["auth_version"],
                "swift_store_user": info["user"],
                "swift_store_key": info["key"],
                "swift_store_container": "bench",
                "swift_store_create_container_on_put": "true",
            }
            servers: dict[str, Server] = {}
            for label, store, cache in [
                ("cached", swift_store, True),
                ("swift", {**swift_store, "swift_store_container": "bench2"}, False),
                ("file", {"default_store": "file"}, False),
            ]:
                server, process = _imgreg(label, root / label, store, cache)
                processes.append(process)
                servers[label] = server
            yield servers, [swift.pid]
        finally:
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
