"""``tools/bench --resumable``: what resuming a tus upload costs (issue 21's target: no more
than 1.1x the CPU of an uninterrupted one).

It starts its own ``imgreg-api`` (``benchlib/resumable_server.py``: tools/serve's settings,
SQLite, the filesystem store, ``resumable_upload_dir``) and uploads --data-mib MiB (default
256) in rounds, three ways each round, in an order that rotates from round to round:

* ``put``: one plain ``PUT /file`` (the reference);
* ``tus``: tus 1.0.0, ``POST`` then 16 MiB ``PATCH`` chunks on one connection;
* ``tus-cut``: the same cut at half: the client's connection is dropped after the chunk that
  reaches half, and a new client (a new connection) asks the offset with ``HEAD`` and sends
  the rest.

For each: the server's CPU seconds (its process tree, ``/proc/<pid>/stat``), the whole
machine's busy CPU seconds (``/proc/stat``: everything but idle and iowait, so the client and
whatever else runs count too), and the wall time. Each image must end active with the md5 and
sha512 of the data sent. Stdlib only, as the rest of benchlib.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .client import BenchError, Conn, Endpoint
from .machine import busy_seconds
from .payload import Payload
from .procs import cpu_seconds
from .sizes import MiB

CHUNK_MIB = 16
KINDS = ("put", "tus", "tus-cut")
IDENTITY = {  # a project: a tus session is its creator project's
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "bench",
    "X-User-Id": "bench",
    "X-Roles": "admin,member,reader",
}
TUS = {"Tus-Resumable": "1.0.0"}


class Uploads:
    def __init__(self, ep: Endpoint, payload: Payload) -> None:
        self.ep = ep
        self.payload = payload
        self.size = payload.mib * MiB
        # one buffer, sent again and again; at most a quarter of the data, so that a small
        # run is cut in its middle too (not after its only chunk)
        self.chunk = payload.block * max(1, min(CHUNK_MIB, payload.mib // 4))

    def new_image(self) -> str:
        body = {"name": "bench-tus", "disk_format": "raw", "container_format": "bare"}
        return str(Conn(self.ep).json(201, "POST", "/v2/images", body=body)["id"])

    def put(self, image_id: str) -> None:
        conn = Conn(self.ep)
        body = self.payload.block * self.payload.mib
        headers = {"Content-Type": "application/octet-stream"}
        conn.expect(204, "PUT", f"/v2/images/{image_id}/file", body=body, headers=headers)
        conn.close()

    def tus(self, image_id: str, cut: bool) -> None:
        conn = Conn(self.ep)
        headers = {**TUS, "Upload-Length": str(self.size)}
        conn.expect(201, "POST", f"/v2/images/{image_id}/file", headers=headers)
        url = self._location(conn)
        offset = self._send(conn, url, 0, self.size // 2 if cut else self.size)
        conn.close()  # the client is gone
        if cut:
            again = Conn(self.ep)
            code, _ = again.request("HEAD", url, headers=TUS)
            if code != 200:
                raise BenchError(f"HEAD {url}: HTTP {code}")
            offset = int(self._header(again, "Upload-Offset"))
            self._send(again, url, offset, self.size)
            again.close()

    def _send(self, conn: Conn, url: str, offset: int, until: int) -> int:
        while offset < until:
            size = min(len(self.chunk), self.size - offset)
            body = self.chunk if size == len(self.chunk) else self.chunk[:size]
            headers = {
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            }
            conn.expect(204, "PATCH", url, body=body, headers=headers)
            offset = int(self._header(conn, "Upload-Offset"))
        return offset

    @staticmethod
    def _header(conn: Conn, name: str) -> str:
        value = conn.last_headers.get(name)
        if value is None:
            raise BenchError(f"no {name} in the answer")
        return value

    def _location(self, conn: Conn) -> str:
        location = self._header(conn, "Location")
        return location[location.index("/v2/") :]

    def check(self, image_id: str) -> None:
        image = Conn(self.ep).json(200, "GET", f"/v2/images/{image_id}")
        wanted = ("active", self.payload.digest("md5"), self.payload.digest("sha512"))
        got = (image["status"], image["checksum"], image["os_hash_value"])
        if got != wanted:
            raise BenchError(f"image {image_id}: {got}, wanted {wanted}")
        Conn(self.ep).expect(204, "DELETE", f"/v2/images/{image_id}")


def run_resumable_bench(
    url: str, pids: list[int], payload: Payload, rounds: int, token: str
) -> dict[str, Any]:
    ep = Endpoint(url, token, 600.0, IDENTITY)
    uploads = Uploads(ep, payload)
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for round_no in range(rounds):
        order = KINDS[round_no % 3 :] + KINDS[: round_no % 3]
        for kind in order:
            image_id = uploads.new_image()
            server, busy, wall = cpu_seconds(pids) or 0.0, busy_seconds(), time.monotonic()
            if kind == "put":
                uploads.put(image_id)
            else:
                uploads.tus(image_id, cut=kind == "tus-cut")
            sample = {
                "server_cpu_s": (cpu_seconds(pids) or 0.0) - server,
                "machine_cpu_s": busy_seconds() - busy,
                "wall_s": time.monotonic() - wall,
            }
            uploads.check(image_id)
            samples[kind].append(sample)
            print(f"  round {round_no + 1} {kind}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in sample.items()), flush=True)  # fmt: skip
    means = {
        kind: {k: round(sum(s[k] for s in runs) / len(runs), 3) for k in runs[0]}
        for kind, runs in samples.items()
    }
    ratios = {
        k: round(means["tus-cut"][k] / means["tus"][k], 3)
        for k in ("server_cpu_s", "machine_cpu_s")
    }
    return {"samples": samples, "means": means, "cut_over_uninterrupted": ratios}


def resumable_table(result: dict[str, Any], data_mib: int, rounds: int) -> str:
    means, ratios = result["means"], result["cut_over_uninterrupted"]
    lines = [
        f"| {data_mib} MiB, mean of {rounds} | server CPU s | machine CPU s | wall s |",
        "| --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        m = means[kind]
        lines.append(
            f"| {kind} | {m['server_cpu_s']:.2f} | {m['machine_cpu_s']:.2f} | {m['wall_s']:.2f} |"
        )
    lines.append(
        f"| tus-cut / tus | {ratios['server_cpu_s']:.3f}x | {ratios['machine_cpu_s']:.3f}x | |"
    )
    table = "\n".join(lines)
    print(table)
    print(f"load average at the end: {os.getloadavg()}")
    return table
