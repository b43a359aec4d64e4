"""The cluster of ``tools/bench --resumable-drill``: ``tools/cluster`` (two ``imgreg-api`` nodes
behind nginx, one PostgreSQL database, one resumable-upload spool) on one store, and the store's
own server when it has one (``tools/swift`` for ``swift`` and ``s3``, its s3api; ``tools/ceph``
for ``rbd``), each in a state directory of the drill's that goes with them.

What the drill reads of the nodes, from outside as an operator would: the bytes each one says
it received for a session (its log's ``resumable upload <id>: N bytes received`` lines, kept
or discarded, the count the e2e tests use), and which process holds a session's data file
open (``/proc/<pid>/fd``: the worker serving its chunk).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .imgreg_server import ROOT, stop_groups, wait_until
from .procs import process_tree

STORES = ("file", "swift", "s3", "rbd")
SEGMENT_MIB = 64  # Swift segments, S3 parts: a 2 GiB image is a large object in each
RECEIVED = re.compile(
    r"^(\S+ \S+) .*resumable upload ([0-9a-f]{32}): (\d+) bytes received", re.MULTILINE
)


@dataclass
class Cluster:
    state: Path
    url: str  # the balancer
    nodes: dict[str, str]  # "a", "b": each node's own URL

    @property
    def spool(self) -> Path:
        return self.state / "tus"

    def node_pids(self) -> list[int]:
        """Every process of both nodes (gunicorn masters and their workers)."""
        roots = [int((self.state / f"node-{n}" / "pid").read_text()) for n in self.nodes]
        return process_tree(roots)

    def holders(self, path: Path) -> list[int]:
        """The nodes' processes that have ``path`` open."""
        found = []
        for pid in self.node_pids():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                            found.append(pid)
                            break
        return found

    def received(self, session: str) -> dict[str, list[tuple[str, int]]]:
        """Per node, the (time, bytes) its log says it received for ``session``."""
        out: dict[str, list[tuple[str, int]]] = {}
        for node in self.nodes:
            log = (self.state / f"node-{node}" / "imgreg-api.log").read_text(errors="replace")
            out[node] = [(t, int(n)) for t, s, n in RECEIVED.findall(log) if s == session]
        return out


def _env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        parts = shlex.split(value)
        values[name] = parts[0] if parts else ""
    return values


@contextlib.contextmanager
def cluster(store: str, work: Path) -> Iterator[Cluster]:
    """``tools/cluster`` up on ``store`` in ``work``/cluster; down (its database dropped) and
    the store's server stopped afterwards."""
    with _store_conf(store, work) as conf:
        state = work / "cluster"
        # the image's direct_url says which store its data went to (the drill checks it)
        extra = work / "extra.conf"
        extra.write_text("[DEFAULT]\nshow_image_direct_url = true\n")
        command = [
            str(ROOT / "tools" / "cluster"),
            "--state",
            str(state),
            "--conf-extra",
            str(extra),
        ]
        if conf is not None:
            command += ["--store-conf", str(conf)]
        try:
            subprocess.run([*command, "up"], check=True, stdout=subprocess.DEVNULL)
            env = _env(state / "cluster.env")
            yield Cluster(
                state,
                env["IMGREG_CLUSTER_URL"],
                {"a": env["IMGREG_CLUSTER_NODE_A"], "b": env["IMGREG_CLUSTER_NODE_B"]},
            )
        finally:
            subprocess.run([*command, "down"], check=False, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def _store_conf(store: str, work: Path) -> Iterator[Path | None]:
    """The ``[glance_store]`` section for ``tools/cluster --store-conf`` (None: its default,
    the filesystem store), with the store's server running."""
    if store == "file":
        yield None
        return
    tool = "ceph" if store == "rbd" else "swift"
    state = work / tool
    state.mkdir(parents=True)
    log = work / f"{tool}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "tools" / tool), str(state)], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        info_path = state / f"{tool}.json"
        wait_until(f"tools/{tool}", info_path.exists, process, log)
        info = json.loads(info_path.read_text())
        name = f"drill{uuid.uuid4().hex[:8]}"
        options = {
            "swift": {
                "default_store": "swift",
                "swift_store_auth_address": info.get("auth_url"),
                "swift_store_auth_version": info.get("auth_version"),
                "swift_store_user": info.get("user"),
                "swift_store_key": info.get("key"),
                "swift_store_container": name,
                "swift_store_create_container_on_put": "true",
                "swift_store_large_object_size": SEGMENT_MIB,
                "swift_store_large_object_chunk_size": SEGMENT_MIB,
            },
            "s3": {
                "default_store": "s3",
                "s3_store_host": info.get("url"),
                "s3_store_access_key": info.get("user"),
                "s3_store_secret_key": info.get("key"),
                "s3_store_bucket": name,
                "s3_store_bucket_url_format": "path",
                "s3_store_create_bucket_on_put": "true",
                "s3_store_large_object_size": SEGMENT_MIB,
                "s3_store_large_object_chunk_size": SEGMENT_MIB,
            },
            "rbd": {
                "default_store": "rbd",
                "rbd_store_ceph_conf": info.get("conf"),
                "rbd_store_pool": info.get("pool"),
            },
        }[store]
        conf = work / "store.conf"
        lines = ["[glance_store]", *(f"{key} = {value}" for key, value in options.items())]
        conf.write_text("\n".join(lines) + "\n")
        yield conf
    finally:
        stop_groups([process])
