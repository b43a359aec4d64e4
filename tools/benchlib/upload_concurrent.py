"""The concurrent-upload phase: ``CONCURRENT_UPLOADS`` chunked uploads of the payload at once,
each into a new image, on connections of their own, started together.

What a node serving many uploads has to give: the aggregate MiB/s (all the bytes over the
wall time from the first start to the last end), and the CPU each uploaded GiB cost, of the
server's processes and of the whole machine (``/proc/stat``: the clients and the kernel as
well). ``sizes.rounds`` rounds; the median round by aggregate MiB/s is reported, as the
single-stream upload phase does."""

from __future__ import annotations

import threading
import time
from typing import Any

from .client import Conn, put_chunked
from .machine import busy_seconds
from .payload import Payload
from .procs import cpu_seconds
from .sizes import CONCURRENT_UPLOADS, MiB, Sizes
from .target import Target
from .upload import verify_images


def phase_upload_concurrent(target: Target, sizes: Sizes, payload: Payload) -> dict[str, Any]:
    conn = Conn(target.ep)
    try:
        batches = []
        for r in range(sizes.rounds):
            batch = []
            for n in range(CONCURRENT_UPLOADS):
                name = f"bench-{target.run_id}-parallel-{r}-{n}"
                image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
                target.track(image["id"])
                batch.append(image["id"])
            batches.append(batch)
    finally:
        conn.close()

    rounds = [_round(target, payload, batch) for batch in batches]
    ranked = sorted(rounds, key=lambda one: one["mib_s"])
    result: dict[str, Any] = {
        **ranked[len(ranked) // 2],
        "uploads": CONCURRENT_UPLOADS,
        "round_mib_s": [one["mib_s"] for one in rounds],
    }
    every = [image_id for batch in batches for image_id in batch]
    result["verified"] = verify_images(target, payload, every, "upload4")
    return result


def _round(target: Target, payload: Payload, image_ids: list[str]) -> dict[str, Any]:
    start = threading.Barrier(len(image_ids) + 1)
    sent: list[int] = []
    failures: list[BaseException] = []

    def upload(image_id: str) -> None:
        try:
            start.wait(60)
            sent.append(put_chunked(target.ep, f"/v2/images/{image_id}/file", payload.blocks()))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in image_ids]
    for thread in threads:
        thread.start()
    cpu0, busy0 = cpu_seconds(target.roots), busy_seconds()
    t0 = time.perf_counter()
    start.wait(60)
    for thread in threads:
        thread.join(3600)
    elapsed = time.perf_counter() - t0
    cpu1, busy1 = cpu_seconds(target.roots), busy_seconds()
    if failures:
        raise failures[0]
    gib = sum(sent) / (1 << 30)
    result: dict[str, Any] = {
        "bytes": sum(sent),
        "seconds": round(elapsed, 3),
        "mib_s": round(sum(sent) / MiB / elapsed, 1),
        "machine_cpu_s_per_gib": round((busy1 - busy0) / gib, 3),
    }
    if cpu0 is not None and cpu1 is not None:
        result["cpu_s_per_gib"] = round((cpu1 - cpu0) / gib, 3)
    return result
