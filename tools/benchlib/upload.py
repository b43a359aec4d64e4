"""The upload phase: chunked uploads of the payload, plain and with a canary reading."""

from __future__ import annotations

import threading
import time
from typing import Any

from .client import Conn, put_chunked
from .machine import busy_seconds
from .payload import Payload
from .procs import RssSampler, cpu_seconds
from .sizes import MiB, Sizes
from .stats import latency_summary
from .target import Target

CANARY_PAUSE = 0.01


def phase_upload(target: Target, sizes: Sizes, payload: Payload) -> dict[str, Any]:
    """``sizes.rounds`` uploads of the payload, then as many with the canary, each into a new
    image (none is deleted before the cleanup, so that every round writes to memory the page
    cache has not held before). The throughput figures are the median plain round's: a server
    that answers the canary while it uploads (Glance's one worker answers nothing until the
    upload ends) would otherwise be timed doing more work. The canary rounds give the canary's
    latency (pooled) and the upload's MiB/s while it is served."""
    conn = Conn(target.ep)
    canary_id = target.seeded[0]
    conn.expect(200, "GET", f"/v2/images/{canary_id}")  # warm the canary's path
    image_ids = []
    for r in range(2 * sizes.rounds):
        name = f"bench-{target.run_id}-big-{r}"
        image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
        target.track(image["id"])
        image_ids.append(image["id"])
    conn.close()

    rounds = [
        _upload_round(target, payload, image_id, canary_id if i >= sizes.rounds else None)
        for i, image_id in enumerate(image_ids)
    ]
    rounds, canary_rounds = rounds[: sizes.rounds], rounds[sizes.rounds :]
    canary_lat = sorted(lat for one in canary_rounds for lat in one.pop("canary_latencies"))
    canary_err = [err for one in canary_rounds for err in one.pop("canary_errors")]
    for message in canary_err[:5]:
        target.error("canary", message)
    ranked = sorted(rounds, key=lambda one: one["mib_s"])
    result: dict[str, Any] = {
        **ranked[len(ranked) // 2],
        "round_mib_s": [one["mib_s"] for one in rounds],
        "slowest_mib_s": ranked[0]["mib_s"],
        "image_id": image_ids[-1],
        "canary": {
            "requests": len(canary_lat) + len(canary_err),
            "errors": len(canary_err),
            **latency_summary(canary_lat),
            "upload_mib_s": sorted(one["mib_s"] for one in canary_rounds)[len(canary_rounds) // 2],
            "round_mib_s": [one["mib_s"] for one in canary_rounds],
        },
    }
    every = rounds + canary_rounds
    if all("rss_peak_mib" in one for one in every):
        result["rss_before_mib"] = every[0]["rss_before_mib"]
        result["rss_peak_mib"] = max(one["rss_peak_mib"] for one in every)
        result["rss_growth_mib"] = max(one["rss_growth_mib"] for one in every)

    result["verified"] = verify_images(target, payload, image_ids, "upload")
    return result


def verify_images(target: Target, payload: Payload, image_ids: list[str], phase: str) -> bool:
    """Whether every image holds the payload (size, md5, multihash); each problem is an
    error of ``phase``."""
    conn = Conn(target.ep)
    try:
        infos = [conn.json(200, "GET", f"/v2/images/{image_id}") for image_id in image_ids]
    finally:
        conn.close()
    problems = [problem for info in infos for problem in check_image(info, payload)]
    for problem in problems:
        target.error(phase, problem)
    return not problems


def _upload_round(
    target: Target, payload: Payload, image_id: str, canary_id: str | None
) -> dict[str, Any]:
    """One upload of ``payload`` into ``image_id``; with a ``canary_id``, that image is read
    again and again while the upload is in flight."""
    in_flight = threading.Event()
    finished = threading.Event()
    canary_lat: list[float] = []
    canary_err: list[str] = []

    def canary() -> None:
        c = Conn(target.ep)
        try:
            in_flight.wait()
            while not finished.is_set():
                t0 = time.perf_counter()
                try:
                    c.expect(200, "GET", f"/v2/images/{canary_id}")
                    canary_lat.append(time.perf_counter() - t0)
                except Exception as exc:
                    canary_err.append(str(exc) or repr(exc))
                finished.wait(CANARY_PAUSE)
        finally:
            c.close()

    canary_thread = threading.Thread(target=canary, daemon=True)
    if canary_id is not None:
        canary_thread.start()
    sampler = RssSampler(target.roots) if target.roots else None
    if sampler is not None:
        sampler.start()
    cpu0 = cpu_seconds(target.roots)
    busy0 = busy_seconds()
    t0 = time.perf_counter()
    try:
        sent = put_chunked(
            target.ep, f"/v2/images/{image_id}/file", payload.blocks(), in_flight.set
        )
        elapsed = time.perf_counter() - t0
    finally:
        in_flight.set()
        finished.set()
        if sampler is not None:
            sampler.stop()
    cpu1 = cpu_seconds(target.roots)
    busy1 = busy_seconds()
    if canary_id is not None:
        canary_thread.join(600)

    result: dict[str, Any] = {
        "bytes": sent,
        "seconds": round(elapsed, 3),
        "mib_s": round(sent / MiB / elapsed, 1),
        # everything the machine did meanwhile: the client, the kernel, and the canary's
        # GETs in a canary round
        "machine_cpu_s_per_gib": round((busy1 - busy0) / (sent / (1 << 30)), 3),
        "canary_latencies": canary_lat,
        "canary_errors": canary_err,
    }
    if sampler is not None:
        result["rss_before_mib"] = round(sampler.before / MiB, 1)
        result["rss_peak_mib"] = round(sampler.peak / MiB, 1)
        result["rss_growth_mib"] = round((sampler.peak - sampler.before) / MiB, 1)
    if cpu0 is not None and cpu1 is not None:
        result["server_cpu_s"] = round(cpu1 - cpu0, 3)
        result["cpu_s_per_gib"] = round((cpu1 - cpu0) / (sent / (1 << 30)), 3)
    return result


def check_image(info: dict[str, Any], payload: Payload) -> list[str]:
    problems = []
    size = payload.mib * MiB
    if info.get("status") != "active":
        problems.append(f"image status {info.get('status')!r}, wanted 'active'")
    if info.get("size") != size:
        problems.append(f"image size {info.get('size')}, wanted {size}")
    if info.get("checksum") != payload.digest("md5"):
        problems.append(f"checksum {info.get('checksum')} != md5 of the data")
    algo = info.get("os_hash_algo") or "sha512"
    if info.get("os_hash_value") != payload.digest(algo):
        problems.append(f"os_hash_value != {algo} of the data")
    return problems
