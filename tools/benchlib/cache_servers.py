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
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .imgreg_server import ROOT, start_imgreg, stop_groups, wait_until


@dataclass
class Server:
    label: str
    url: str
    pid: int
    cache_dir: Path | None = None  # image_cache_dir, when it has one


def _imgreg(
    label: str, state: Path, store: dict[str, object], cache: bool
) -> tuple[Server, subprocess.Popen[bytes]]:
    default = [f"image_cache_dir = {state / 'cache'}", "image_cache_period = 0"] if cache else []
    url, process = start_imgreg(label, state, default, store)
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
            wait_until("tools/swift", info_path.exists, swift, log)
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
            stop_groups(processes)
