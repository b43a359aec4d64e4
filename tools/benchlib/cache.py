"""``tools/bench --cache``: the image cache in front of a Swift store, against the filesystem
store and against the same Swift store without a cache (``cache_servers``).

The same ``--data-mib`` image (default 512 MiB) is uploaded to each server, and the filesystem
store's copy is read twice untimed (so that its pages are in the page cache, and on its active
list, as a hit's are by the time it is measured). Then ``rounds`` rounds, each timing whole
downloads of:

* ``swift``: the Swift store without a cache: "an uncached download today";
* ``first``: the cached server after ``DELETE /v2/cache/{id}`` (and a commit of that unlink:
  the cache directory fsynced, then a pause, so that freeing the old copy is not counted):
  the download that reads Swift and fills the cache at once (the next measurement starts only
  once the copy is a hit, so the fill's verification, which runs after the last byte, is
  inside the figures of nothing else; its CPU is reported apart, "through hit");
* ``fresh_hit``: the cached server again, right after: the first hit of the new copy
  (reported only: its pages are read for the second time, and moved to the active list);
* ``file`` and ``hit``, ``HIT_PAIRS`` times: the filesystem store, and a hit (sendfile from the
  page cache, both).

The two ratios the cache promises are taken pair by pair, from two downloads measured back to
back (``first`` and ``swift``; each ``hit`` and ``file``), the pair's order alternating from
one pair to the next, and each reported as the median of its pairs' ratios: a drift of the
machine (another process, the page cache's state, the CPU clock) hits both downloads of a pair
alike, and one round that goes wrong moves the median by one place, not the result.
``first/swift`` (target ≥ 0.90) and ``hit/file`` (target ≥ 0.80).

Each download counts its bytes, and at the end one of each kind is hashed and compared with the
upload's digests. Reported per kind as well: the median round's MiB/s (and the slowest), the
CPU seconds per GiB of the imgreg server and of the whole machine (``/proc/stat``: Swift, the
client and everything else included).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from pathlib import Path
from typing import Any

from .client import BenchError, Conn, Endpoint, put_chunked
from .machine import busy_seconds
from .payload import Payload
from .procs import cpu_seconds
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
HIT_PAIRS = 3  # hit/file pairs a round: each download takes a fraction of a second
RATIOS = {  # name: (numerator, denominator, target)
    "first_over_swift": ("first", "swift", 0.90),
    "hit_over_file": ("hit", "file", 0.80),
}
HEADERS = {  # the noauth pipeline's identity: the cache API is for administrators
    "X-Identity-Status": "Confirmed",
    "X-Roles": "admin,member,reader",
    "X-Project-Id": "bench",
    "X-User-Id": "bench",
}


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
    server0, machine0 = cpu_seconds(roots) or 0.0, busy_seconds()
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
            "machine_cpu": busy_seconds() - machine0}  # fmt: skip


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


def commit_unlink(directory: Path) -> None:
    """The cache directory fsynced: the journal commit of the evicted copy's unlink (and its
    discard, on a filesystem mounted with ``discard``) happens now, not in the next download."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Downloads:
    """Timed whole downloads of each kind from the bench's servers."""

    def __init__(self, servers: dict[str, Any], payload: Payload, token: str) -> None:
        self.servers = servers
        self.payload = payload
        self.eps = {label: Endpoint(s.url, token, 600.0, HEADERS) for label, s in servers.items()}
        self.images = {label: upload(ep, self.payload) for label, ep in self.eps.items()}

    def untimed(self, kind: str, hasher: Any = None) -> None:
        label = SERVER_OF[kind]
        path = f"/v2/images/{self.images[label]}/file"
        timed_get(self.eps[label], path, [self.servers[label].pid], hasher)

    def timed(self, kind: str) -> dict[str, float]:
        label = SERVER_OF[kind]
        ep, image_id = self.eps[label], self.images[label]
        if kind == "first":
            evict(ep, image_id)
            if self.servers[label].cache_dir is not None:
                commit_unlink(self.servers[label].cache_dir)
            time.sleep(SETTLE)  # the unlink's deferred work (ext4, the page cache) apart
        roots = [self.servers[label].pid]
        server0, machine0 = cpu_seconds(roots) or 0.0, busy_seconds()
        sample = timed_get(ep, f"/v2/images/{image_id}/file", roots)
        if sample["bytes"] != self.payload.mib * MiB:
            raise BenchError(f"{kind}: {sample['bytes']} bytes, wanted {self.payload.mib} MiB")
        if kind == "first":
            wait_hit(ep, image_id)  # the copy verified after the download: its CPU too
        sample["server_cpu_through_hit"] = (cpu_seconds(roots) or 0.0) - server0
        sample["machine_cpu_through_hit"] = busy_seconds() - machine0
        return sample

    def verified(self, kind: str) -> bool:
        """One more download of ``kind``, hashed against the upload."""
        label = SERVER_OF[kind]
        if kind == "first":
            evict(self.eps[label], self.images[label])
        hasher = hashlib.sha512()
        self.untimed(kind, hasher)
        if kind == "first":
            wait_hit(self.eps[label], self.images[label])
        return hasher.hexdigest() == self.payload.digest("sha512")


def mib_s(sample: dict[str, float]) -> float:
    return sample["bytes"] / MiB / sample["seconds"]


def run_cache_bench(
    servers: dict[str, Any], payload: Payload, rounds: int, token: str
) -> dict[str, Any]:
    downloads = Downloads(servers, payload, token)
    for _ in range(2):  # its pages in the page cache and active, as a hit's are when measured
        downloads.untimed("file")
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    pairs: dict[str, list[float]] = {name: [] for name in RATIOS}

    def pair(name: str) -> None:
        """Two downloads back to back, in the order opposite to the last pair of ``name``."""
        top, bottom, _target = RATIOS[name]
        order = (top, bottom) if len(pairs[name]) % 2 == 0 else (bottom, top)
        got = {kind: downloads.timed(kind) for kind in order}
        samples[top].append(got[top])
        samples[bottom].append(got[bottom])
        pairs[name].append(mib_s(got[top]) / mib_s(got[bottom]))

    for n in range(rounds):
        print(f"  round {n + 1}/{rounds}", flush=True)
        pair("first_over_swift")
        samples["fresh_hit"].append(downloads.timed("fresh_hit"))
        for _ in range(HIT_PAIRS):
            pair("hit_over_file")
    verified = {kind: downloads.verified(kind) for kind in KINDS}  # "hit" after "first"
    return summarize(samples, pairs, verified)


def summarize(
    samples: dict[str, list[dict[str, float]]],
    pairs: dict[str, list[float]],
    verified: dict[str, bool],
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind, runs in samples.items():
        rates = sorted(mib_s(r) for r in runs)
        gib = sum(r["bytes"] for r in runs) / (1 << 30)
        result[kind] = {
            "mib_s": round(statistics.median(rates), 1),
            "slowest_mib_s": round(rates[0], 1),
            "round_mib_s": [round(mib_s(r), 1) for r in runs],
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
    for name, (_top, _bottom, target) in RATIOS.items():
        result.update(ratio_summary(name, pairs[name], target))
    return result


def ratio_summary(name: str, pairs: list[float], target: float) -> dict[str, Any]:
    """The median of the pairs' ratios against ``target``: judged before any rounding (a
    median of 0.895 is not 0.90), shown to three places."""
    ratios = sorted(pairs)
    median = statistics.median(ratios)
    return {
        name: round(median, 3),
        f"{name}_pairs": [round(r, 3) for r in pairs],  # in the order measured
        f"{name}_quartiles": [round(q, 3) for q in _quartiles(ratios)],
        f"{name}_target": target,
        f"{name}_met": median >= target,
    }


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]] if values else []
    q = statistics.quantiles(values, n=4)
    return [q[0], q[2]]


def print_cache_table(result: dict[str, Any]) -> str:
    lines = [
        "| download (median) | MiB/s | slowest | imgreg CPU s/GiB | machine CPU s/GiB "
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
    for name, label in (
        ("first_over_swift", "first / no cache"),
        ("hit_over_file", "hit / filesystem store"),
    ):
        low, high = result[f"{name}_quartiles"]
        pairs = ", ".join(f"{r:.2f}" for r in result[f"{name}_pairs"])
        lines.append(
            f"{label}: **{result[name]}x** (target ≥ {result[f'{name}_target']:.2f}: "
            f"{'met' if result[f'{name}_met'] else 'NOT MET'}); median of "
            f"{len(result[f'{name}_pairs'])} back-to-back pairs, quartiles {low:.2f}-{high:.2f}; "
            f"pairs: {pairs}"
        )
    text = "\n".join(lines)
    print(text)
    return text
