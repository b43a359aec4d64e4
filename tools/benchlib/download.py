"""The download phase: timed reads of the uploaded image, then one checking its hashes."""

from __future__ import annotations

import hashlib
import http.client
import queue
import threading
import time
from typing import Any

from .client import BenchError, Conn
from .payload import Payload
from .procs import cpu_seconds
from .sizes import MiB, Sizes
from .target import Target


def phase_download(target: Target, sizes: Sizes, payload: Payload) -> dict[str, Any]:
    upload = target.results.get("upload") or {}
    image_id = upload.get("image_id")
    if not image_id:
        raise BenchError("download: no uploaded image")
    conn = Conn(target.ep)
    try:
        info = conn.json(200, "GET", f"/v2/images/{image_id}")
    finally:
        conn.close()
    path = f"/v2/images/{image_id}/file"

    # 1. bytes only: a warm-up round (as every load phase warms up first: the client's
    # buffers and the server's read path), then sizes.rounds rounds; the server's delivery
    # rate is the median round's. The warm-up is the first read of the just-uploaded image,
    # so its rate is reported too: a server that left the image out of the page cache
    # would show it there.
    first_bytes, first_seconds, _ = _download_round(target, path)
    raw = sorted(
        (_download_round(target, path) for _ in range(sizes.rounds)),
        key=lambda one: one[0] / one[1],  # slowest first
    )
    raw_bytes, raw_seconds, raw_cpu = raw[len(raw) // 2]

    # 2. hashing md5 and os_hash_algo on two threads while receiving
    algo = info.get("os_hash_algo") or "sha512"
    verified_bytes, verified_seconds, digests = _hashing_download(target, path, algo)

    size = payload.mib * MiB
    problems = []
    for got in [first_bytes, *(n for n, _, _ in raw)]:
        if got != size:
            problems.append(f"download returned {got} bytes, wanted {size}")
    if verified_bytes != size:
        problems.append(f"verified download returned {verified_bytes} bytes, wanted {size}")
    if digests["md5"] != info.get("checksum"):
        problems.append("md5 of the download != the image's checksum")
    if digests[algo] != info.get("os_hash_value"):
        problems.append(f"{algo} of the download != the image's os_hash_value")
    if digests[algo] != payload.digest(algo):
        problems.append(f"{algo} of the download != {algo} of the uploaded data")
    for problem in problems:
        target.error("download", problem)
    result: dict[str, Any] = {
        "bytes": raw_bytes,
        "seconds": round(raw_seconds, 3),
        "mib_s": round(raw_bytes / MiB / raw_seconds, 1),
        "round_mib_s": [round(n / MiB / t, 1) for n, t, _ in raw],
        "slowest_mib_s": round(raw[0][0] / MiB / raw[0][1], 1),
        "first_mib_s": round(first_bytes / MiB / first_seconds, 1),
        "verified_seconds": round(verified_seconds, 3),
        "verified_mib_s": round(verified_bytes / MiB / verified_seconds, 1),
        "verified": not problems,
    }
    if raw_cpu is not None and raw_bytes:
        result["server_cpu_s"] = round(raw_cpu, 3)
        result["cpu_s_per_gib"] = round(raw_cpu / (raw_bytes / (1 << 30)), 3)
    return result


def _hashing_download(target: Target, path: str, algo: str) -> tuple[int, float, dict[str, str]]:
    """(bytes, seconds, hex digests by algorithm) of one GET of ``path`` whose body is hashed
    with md5 and ``algo`` on two threads while it is received."""
    hashers = {"md5": hashlib.md5(), algo: hashlib.new(algo)}
    queues: dict[str, queue.Queue[bytes | None]] = {k: queue.Queue(16) for k in hashers}

    def consume(name: str) -> None:
        while (chunk := queues[name].get()) is not None:
            hashers[name].update(chunk)

    threads = [threading.Thread(target=consume, args=(k,), daemon=True) for k in hashers]
    for thread in threads:
        thread.start()
    http_conn = target.ep.connect()
    verified_bytes = 0
    try:
        t0 = time.perf_counter()
        resp = _get_ok(target, http_conn, path)
        while chunk := resp.read(MiB):
            verified_bytes += len(chunk)
            for q in queues.values():
                q.put(chunk)
    finally:
        for q in queues.values():
            q.put(None)
        for thread in threads:
            thread.join()
        http_conn.close()
    verified_seconds = time.perf_counter() - t0
    return verified_bytes, verified_seconds, {k: h.hexdigest() for k, h in hashers.items()}


def _get_ok(
    target: Target, http_conn: http.client.HTTPConnection, path: str
) -> http.client.HTTPResponse:
    """Send GET ``path`` on ``http_conn``; its response, whose status must be 200."""
    http_conn.request("GET", target.ep.prefix + path, headers=target.ep.headers())
    resp = http_conn.getresponse()
    if resp.status != 200:
        raise BenchError(f"GET {path}: HTTP {resp.status}")
    return resp


def _download_round(target: Target, path: str) -> tuple[int, float, float | None]:
    """(bytes, seconds, server CPU seconds or None) of one GET of ``path``, counting bytes."""
    http_conn = target.ep.connect()
    cpu0 = cpu_seconds(target.roots)
    try:
        t0 = time.perf_counter()
        resp = _get_ok(target, http_conn, path)
        buf = bytearray(MiB)
        view = memoryview(buf)
        got = 0
        while n := resp.readinto(view):
            got += n
        seconds = time.perf_counter() - t0
    finally:
        http_conn.close()
    cpu1 = cpu_seconds(target.roots)
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return got, seconds, cpu
