"""``tools/bench --cache``: the image cache in front of a Swift store, against the filesystem
store and against the same Swift store without a cache (``cache_servers``).

The same ``--data-mib`` image (default 512 MiB) is uploaded to each server; then ``rounds``
rounds, the order of the servers reversed every other round (so that a drift of the machine
hits every kind alike), each timing one whole download of:

* ``file``: the filesystem store (the file in the page cache, as in the main download phase);
* ``swift``: the Swift store without a cache: "an uncached download today";
* ``first``: the cached server after ``DELETE /v2/cache/{id}``: the download that reads Swift
  and fills the cache at once (the next measurement starts only once the copy is a hit, so the
  fill's verification, which runs after the last byte, is inside the figures of nothing else;
  its CPU is reported apart, "through hit");
* ``fresh_hit``: the cached server again, right after: the first hit of the new copy
  (reported; it ran 10-20% below the next ones in this project's runs, as the main download
  phase's first read of a new image does);
* ``hit``: the cached server once more: a hit as a node serves a copy it holds (sendfile).

Each download counts its bytes, and at the end one of each kind is hashed and compared with the
upload's digests. Reported per kind: the median round's MiB/s (and the slowest), the CPU
seconds per GiB of the imgreg server and of the whole machine (``/proc/stat``: Swift, the
client and everything else included), and the two ratios the cache promises: ``hit/file``
(target ≥ 0.80) and ``first/swift`` (target ≥ 0.90).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

from .client import BenchError, Conn, Endpoint, put_chunked
from .payload import Payload
from .procs import CLK_TCK, cpu_seconds
from .sizes import MiB

KINDS = ("file", "swift", "first", "fresh_hit", "hit")
SERVER_OF = {
    "file": "file",
    "swift": "swift",
    "first": "cached",
    "fresh_hit": "cached",
    "hit": "cached",
}
SETTLE = 1.0  # seconds between evicting the copy and the first download that refills it
HEADERS = {  # the noauth pipeline's identity: the cache API is for administrators
    "X-Identity-Status": "Confirmed",
    "X-Roles": "admin,member,reader",
    "X-Project-Id": "bench",
    "X-User-Id": "bench",
}


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def upload(ep: Endpoint, payload: Payload) -> str:
    conn = Conn(ep)
    try:
        body = {"name": "bench-cache", "disk_format": "raw", "container_format": "bare"}
        image_id: str = conn.json(201, "POST", "/v2/images", body=body)["id"]
    finally:
        conn.close()
    put_chunked(ep, f"/v2/images/{image_id}/file", payload.blocks())
    conn = Conn(ep)
    try:
        info = conn.json(200, "GET", f"/v2/images/{image_id}")
    finally:
        conn.close()
    if info["status"] != "active" or info["os_hash_value"] != payload.digest("sha512"):
        raise BenchError(f"upload to {ep.url}: image {image_id} is {info['status']}")
    return image_id


def timed_get(ep: Endpoint, path: str, roots: list[int], hasher: Any = None) -> dict[str, float]:
    """One GET of ``path``: bytes, seconds, the server's and the machine's CPU seconds."""
    http = ep.connect()
    server0, machine0 = cpu_seconds(roots) or 0.0, machine_cpu_seconds()
    try:
        t0 = time.perf_counter()
        http.request("GET", ep.prefix + path, headers=ep.headers())
        resp = http.getresponse()
        if resp.status != 200:
            raise BenchError(f"GET {ep.url}{path}: HTTP {resp.status}")
        view = memoryview(bytearray(MiB))
        got = 0
        while n := resp.readinto(view):
            got += n
            if hasher is not None:
                hasher.update(view[:n])
        seconds = time.perf_counter() - t0
    finally:
        http.close()
    server = (cpu_seconds(roots) or 0.0) - server0
    return {"bytes": got, "seconds": seconds, "server_cpu": server,
            "machine_cpu": machine_cpu_seconds() - machine0}  # fmt: skip


def cached_ids(ep: Endpoint) -> list[str]:
    conn = Conn(ep)
    try:
        return [e["image_id"] for e in conn.json(200, "GET", "/v2/cache")["cached_images"]]
    finally:
        conn.close()


def evict(ep: Endpoint, image_id: str) -> None:
    conn = Conn(ep)
    try:
        conn.expect((200, 204), "DELETE", f"/v2/cache/{image_id}")
    finally:
        conn.close()
    if image_id in cached_ids(ep):
        raise BenchError(f"image {image_id} still cached after DELETE /v2/cache/{image_id}")


def wait_hit(ep: Endpoint, image_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while image_id not in cached_ids(ep):
        if time.monotonic() > deadline:
            raise BenchError(f"image {image_id} was not cached {timeout} s after its download")
        time.sleep(0.05)


def run_cache_bench(
    servers: dict[str, Any], payload: Payload, rounds: int, token: str
) -> dict[str, Any]:
    eps = {label: Endpoint(s.url, token, 600.0, HEADERS) for label, s in servers.items()}
    images = {label: upload(ep, payload) for label, ep in eps.items()}
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for n in range(rounds):
        order = KINDS if n % 2 == 0 else ("first", "fresh_hit", "hit", "swift", "file")
        for kind in order:
            label = SERVER_OF[kind]
            ep, image_id = eps[label], images[label]
            if kind == "first":
                evict(ep, image_id)
                time.sleep(SETTLE)  # the unlink's deferred work (ext4, the page cache) apart
            roots = [servers[label].pid]
            server0, machine0 = cpu_seconds(roots) or 0.0, machine_cpu_seconds()
            sample = timed_get(ep, f"/v2/images/{image_id}/file", roots)
            if sample["bytes"] != payload.mib * MiB:
                raise BenchError(f"{kind}: {sample['bytes']} bytes, wanted {payload.mib} MiB")
            if kind == "first":
                wait_hit(ep, image_id)  # the copy verified after the download: its CPU too
            sample["server_cpu_through_hit"] = (cpu_seconds(roots) or 0.0) - server0
            sample["machine_cpu_through_hit"] = machine_cpu_seconds() - machine0
            samples[kind].append(sample)
    verified = {}
    for kind in KINDS:  # the hit last: after "first", the copy is in place
        label = SERVER_OF[kind]
        if kind == "first":
            evict(eps[label], images[label])
        hasher = hashlib.sha512()
        timed_get(eps[label], f"/v2/images/{images[label]}/file", [servers[label].pid], hasher)
        verified[kind] = hasher.hexdigest() == payload.digest("sha512")
        if kind == "first":
            wait_hit(eps[label], images[label])
    return summarize(samples, verified)


def summarize(
    samples: dict[str, list[dict[str, float]]], verified: dict[str, bool]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind, runs in samples.items():
        rates = sorted(r["bytes"] / MiB / r["seconds"] for r in runs)
        gib = sum(r["bytes"] for r in runs) / (1 << 30)
        result[kind] = {
            "mib_s": round(statistics.median(rates), 1),
            "slowest_mib_s": round(rates[0], 1),
            "round_mib_s": [round(r["bytes"] / MiB / r["seconds"], 1) for r in runs],
            "server_cpu_s_per_gib": round(sum(r["server_cpu"] for r in runs) / gib, 3),
            "machine_cpu_s_per_gib": round(sum(r["machine_cpu"] for r in runs) / gib, 3),
            # "first": until the copy is a hit (its verification after the last byte included)
            "server_cpu_s_per_gib_through_hit": round(
                sum(r["server_cpu_through_hit"] for r in runs) / gib, 3
            ),
            "machine_cpu_s_per_gib_through_hit": round(
                sum(r["machine_cpu_through_hit"] for r in runs) / gib, 3
            ),
            "verified": verified[kind],
        }
    result["hit_over_file"] = round(result["hit"]["mib_s"] / result["file"]["mib_s"], 2)
    result["first_over_swift"] = round(result["first"]["mib_s"] / result["swift"]["mib_s"], 2)
    return result


def print_cache_table(result: dict[str, Any]) -> str:
    lines = [
        "| download (median round) | MiB/s | slowest | imgreg CPU s/GiB | machine CPU s/GiB "
        "| bytes verified |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "file": "filesystem store",
        "swift": "Swift store, no cache",
        "first": "Swift store + cache, first (fills the cache)",
        "fresh_hit": "Swift store + cache, first hit of the new copy",
        "hit": "Swift store + cache, hit",
    }
    for kind in KINDS:
        r = result[kind]
        lines.append(
            f"| {names[kind]} | {r['mib_s']:,} | {r['slowest_mib_s']:,} | "
            f"{r['server_cpu_s_per_gib']} | {r['machine_cpu_s_per_gib']} | "
            f"{'yes' if r['verified'] else 'NO'} |"
        )
    first = result["first"]
    lines.append("")
    lines.append(
        f"The first download's fill, until its copy is a hit (the verification after the last "
        f"byte included): imgreg {first['server_cpu_s_per_gib_through_hit']} s/GiB, machine "
        f"{first['machine_cpu_s_per_gib_through_hit']} s/GiB."
    )
    lines.append(
        f"hit / filesystem store: **{result['hit_over_file']}x** (target ≥ 0.80); "
        f"first / no cache: **{result['first_over_swift']}x** (target ≥ 0.90)"
    )
    text = "\n".join(lines)
    print(text)
    return text
