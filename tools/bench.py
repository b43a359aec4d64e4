"""Benchmark a Glance Images API v2 endpoint (imgreg or OpenStack Glance), or two side by side.

    tools/bench URL [--server-pids PID,...] [--json out.json]
    tools/bench --compare URL_A URL_B [--pids-a PID,...] [--pids-b PID,...] [--json out.json]

Phases, in order (with --compare each phase runs against A, then B, then the next phase, so
that noise from a shared machine hits both endpoints alike):

* seed: create --images images (default 5,000; half raw, half qcow2) with 16 concurrent clients;
* schema GET, image GET, list limit=25, list limit=1000, a filtered sorted list
  (``?disk_format=raw&sort=name:asc&limit=25``), create (POST), PATCH (replace /name), each at
  concurrency 1 and 16: requests/s, p50/p99 latency and, given the server's PIDs, server CPU
  per request (utime+stime+cutime+cstime of those processes and all their descendants, read
  from /proc/<pid>/stat before and after the measured requests);
* chunked uploads (``Transfer-Encoding: chunked``, 1 MiB chunks like glanceclient, from a
  generator repeating one random block) of --data-mib MiB (default 512), 3 rounds into 3 new
  images (2 with --quick), in MiB/s (the median round, and the slowest), with the server's peak
  VmRSS (sum over its processes, sampled every 20 ms); then as many rounds again with a
  "canary": small GETs (``GET /v2/images/<id>``) issued one after another while the upload is
  in flight (their latency, and the upload's MiB/s while it serves them);
* downloads of the last image: a first read (reported, as a warm-up), as many rounds counting
  bytes only (median and slowest), then one hashing md5 and the image's os_hash_algo on two
  threads and checking them against checksum/os_hash_value;
* create + upload 1 MiB + delete cycles at concurrency 8;
* cleanup: every image the run created is deleted (16 concurrent clients), also on failure.

Every request carries ``X-Auth-Token: bench`` and the ``--header`` options, nothing else. Any
unexpected status, exception or hash mismatch is an error; the run prints them and exits 1 if
there was any.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import json
import math
import os
import platform
import queue
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1 << 20
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SEED_CONCURRENCY = 16
CYCLE_CONCURRENCY = 8
CANARY_PAUSE = 0.01


@dataclass(frozen=True)
class Sizes:
    images: int  # images seeded before the request phases
    schema: int  # requests per measured run (one run at each concurrency)
    show: int
    list25: int
    list1000: int
    filtered: int
    create: int
    patch: int
    data_mib: int  # size of the big upload/download
    rounds: int  # uploads and downloads of data_mib; the median one is reported
    cycles: int  # create + upload 1 MiB + delete cycles
    run_seconds: float  # a measured run stops issuing requests after this long


FULL = Sizes(
    images=5000,
    schema=1500,
    show=600,
    list25=400,
    list1000=40,
    filtered=400,
    create=300,
    patch=300,
    data_mib=512,
    rounds=3,
    cycles=150,
    run_seconds=30.0,
)
QUICK = Sizes(
    images=150,
    schema=100,
    show=40,
    list25=30,
    list1000=5,
    filtered=30,
    create=30,
    patch=30,
    data_mib=64,
    rounds=2,
    cycles=16,
    run_seconds=5.0,
)
CONCURRENCIES = (1, 16)


class BenchError(Exception):
    """A request that did not do what it should (status, body, hash)."""


# --------------------------------------------------------------------------- HTTP


class Endpoint:
    def __init__(
        self, url: str, token: str, timeout: float, more: dict[str, str] | None = None
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"bench: not an http(s) URL: {url}")
        self.url = url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.more = more or {}

    def connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **self.more, **(extra or {})}


class Conn:
    """One keep-alive connection (reopened when the server closes it, as uWSGI does)."""

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.http: http.client.HTTPConnection | None = None
        self.used = False

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
        self.http = None
        self.used = False

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        hdrs = self.ep.headers(headers)
        payload = json.dumps(body).encode() if isinstance(body, dict | list) else body
        if isinstance(body, dict | list) and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.http is None:
                self.http = self.ep.connect()
            reused = self.used
            try:
                self.http.request(method, self.ep.prefix + path, body=payload, headers=hdrs)
                resp = self.http.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # a kept-alive connection the server closed while idle: retry once, as
                # urllib3 does; a fresh connection failing is an error
                if reused and attempt == 1:
                    continue
                raise
            except Exception:
                self.close()
                raise
            self.used = True
            if resp.will_close:
                self.close()
            return resp.status, data
        raise AssertionError("unreachable")

    def expect(self, status: int | tuple[int, ...], method: str, path: str, **kw: Any) -> bytes:
        code, data = self.request(method, path, **kw)
        wanted = status if isinstance(status, tuple) else (status,)
        if code not in wanted:
            text = data[:300].decode(errors="replace").strip()
            raise BenchError(f"{method} {path}: HTTP {code} (wanted {wanted}): {text}")
        return data

    def json(self, status: int | tuple[int, ...], method: str, path: str, **kw: Any) -> Any:
        data = self.expect(status, method, path, **kw)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BenchError(f"{method} {path}: body is not JSON: {data[:200]!r}") from exc


def put_chunked(
    ep: Endpoint, path: str, blocks: Iterator[bytes], started: Callable[[], None] | None = None
) -> int:
    """PUT ``blocks`` with ``Transfer-Encoding: chunked``, one chunk a block, the way
    python-glanceclient (requests) sends a file: size line, block, CRLF. Returns bytes sent."""
    conn = ep.connect()
    sent = 0
    try:
        conn.putrequest("PUT", ep.prefix + path, skip_accept_encoding=True)
        headers = ep.headers(
            {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
        )
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        first = True
        try:
            for block in blocks:
                conn.send(b"%X\r\n" % len(block))
                conn.send(block)
                conn.send(b"\r\n")
                sent += len(block)
                if first and started is not None:
                    started()
                first = False
            conn.send(b"0\r\n\r\n")
        except OSError as exc:
            # the server gave up on the body: report its answer when there is one
            try:
                resp = conn.getresponse()
                text = resp.read()[:300].decode(errors="replace")
                raise BenchError(
                    f"PUT {path}: HTTP {resp.status} after {sent} bytes: {text}"
                ) from exc
            except (OSError, http.client.HTTPException):
                raise BenchError(f"PUT {path}: {exc!r} after {sent} bytes") from exc
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 204:
            text = data[:300].decode(errors="replace")
            raise BenchError(f"PUT {path}: HTTP {resp.status} (wanted 204): {text}")
        return sent
    finally:
        conn.close()


# --------------------------------------------------------------------------- server processes


def read_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
    return text.rsplit(")", 1)[1].split()


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and all their live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry))
    seen: list[int] = []
    todo = [pid for pid in roots if Path(f"/proc/{pid}").exists()]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return sorted(seen)


def cpu_seconds(roots: list[int]) -> float | None:
    """utime + stime (+ cutime + cstime: children that exited and were reaped) of the tree."""
    if not roots:
        return None
    ticks = 0
    for pid in process_tree(roots):
        stat = read_stat(pid)
        if stat is not None:
            # after ")": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
            ticks += sum(int(v) for v in stat[11:15])
    return ticks / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    """Samples the summed VmRSS of the server's process tree every 20 ms."""

    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.pids = process_tree(roots)
        self.before = rss_bytes(self.pids)
        self.peak = self.before
        self.done = threading.Event()

    def run(self) -> None:
        refresh = 0
        while not self.done.wait(0.02):
            refresh += 1
            if refresh % 25 == 0:  # a worker may have been (re)started
                self.pids = process_tree(self.roots)
            self.peak = max(self.peak, rss_bytes(self.pids))

    def stop(self) -> None:
        self.done.set()
        self.join(10)


# --------------------------------------------------------------------------- statistics


def percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    values = sorted(latencies)
    return {
        "p50_ms": _ms(percentile(values, 50)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(values[-1] if values else None),
        "mean_ms": _ms(sum(values) / len(values) if values else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    label: str
    url: str
    roots: list[int]
    ep: Endpoint
    run_id: str
    seeded: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # every image still to delete
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def track(self, image_id: str) -> None:
        with self.lock:
            self.created.append(image_id)

    def error(self, phase: str, message: str) -> None:
        with self.lock:
            self.errors.append(f"[{self.label}] {phase}: {message}")

    def image_body(self, name: str, disk_format: str = "raw") -> dict[str, Any]:
        return {"name": name, "disk_format": disk_format, "container_format": "bare"}


def load_run(
    target: Target,
    phase: str,
    concurrency: int,
    count: int,
    seconds: float,
    work: Callable[[Conn, int], None],
    warmup: bool = True,
) -> dict[str, Any]:
    """``count`` calls of ``work(conn, i)`` from ``concurrency`` threads, each with its own
    connection; one untimed warm-up call per thread first. Stops issuing after ``seconds``."""
    counter = itertools.count()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    go = threading.Barrier(concurrency + 1)
    latencies: list[float] = []
    errors: list[str] = []
    state = {"deadline": 0.0, "capped": False, "last": 0.0}

    def worker(slot: int) -> None:
        conn = Conn(target.ep)
        mine: list[float] = []
        bad: list[str] = []
        try:
            if warmup:
                try:
                    work(conn, -1 - slot)
                except Exception as exc:
                    bad.append(f"warm-up: {exc}")
            ready.wait()
            go.wait()
            while True:
                with lock:
                    i = next(counter)
                if i >= count:
                    break
                if time.perf_counter() > state["deadline"]:
                    state["capped"] = True
                    break
                t0 = time.perf_counter()
                try:
                    work(conn, i)
                    mine.append(time.perf_counter() - t0)
                except Exception as exc:
                    bad.append(str(exc) or repr(exc))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                errors.extend(bad)
                state["last"] = max(state["last"], time.perf_counter())

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu0 = cpu_seconds(target.roots)
    client0 = time.process_time()
    t0 = time.perf_counter()
    state["deadline"] = t0 + seconds
    go.wait()
    for thread in threads:
        thread.join()
    elapsed = max(state["last"], time.perf_counter()) - t0
    client_cpu = time.process_time() - client0
    cpu1 = cpu_seconds(target.roots)
    done = len(latencies) + len(errors)
    for message in errors[:5]:
        target.error(phase, message)
    if len(errors) > 5:
        target.error(phase, f"... and {len(errors) - 5} more errors")
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "requests": done,
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 2) if elapsed > 0 else None,
        **latency_summary(latencies),
        "capped": state["capped"],
        "client_cpu_s": round(client_cpu, 3),
    }
    if cpu0 is not None and cpu1 is not None:
        result["server_cpu_s"] = round(cpu1 - cpu0, 3)
        result["cpu_ms_per_req"] = round((cpu1 - cpu0) * 1000 / done, 3) if done else None
    return result


# --------------------------------------------------------------------------- phases


def phase_check(target: Target, sizes: Sizes) -> dict[str, Any]:
    conn = Conn(target.ep)
    try:
        schema = conn.json(200, "GET", "/v2/schemas/image")
        if schema.get("name") != "image":
            raise BenchError(f"GET /v2/schemas/image: unexpected body {str(schema)[:200]}")
        images = conn.json(200, "GET", "/v2/images?limit=1")
        if "images" not in images:
            raise BenchError("GET /v2/images: no 'images' in the body")
    finally:
        conn.close()
    return {"pids": process_tree(target.roots), "server_rss_mib": _rss_mib(target.roots)}


def _rss_mib(roots: list[int]) -> float | None:
    if not roots:
        return None
    return round(rss_bytes(process_tree(roots)) / MiB, 1)


def phase_seed(target: Target, sizes: Sizes) -> dict[str, Any]:
    names = [f"bench-{target.run_id}-{i:05d}" for i in range(sizes.images)]
    ids: list[str | None] = [None] * sizes.images

    def create(conn: Conn, i: int) -> None:
        body = target.image_body(names[i], "raw" if i % 2 == 0 else "qcow2")
        image = conn.json(201, "POST", "/v2/images", body=body)
        target.track(image["id"])
        ids[i] = image["id"]

    result = load_run(target, "seed", SEED_CONCURRENCY, sizes.images, 3600.0, create, warmup=False)
    target.seeded = [i for i in ids if i is not None]
    if len(target.seeded) < sizes.images:
        raise BenchError(f"seed: only {len(target.seeded)} of {sizes.images} images created")
    return result


def _measure(
    target: Target, phase: str, count: int, sizes: Sizes, work: Callable[[Conn, int], None]
) -> dict[str, Any]:
    return {
        f"c{c}": load_run(target, phase, c, count, sizes.run_seconds, work) for c in CONCURRENCIES
    }


def phase_schema(target: Target, sizes: Sizes) -> dict[str, Any]:
    def get(conn: Conn, i: int) -> None:
        conn.expect(200, "GET", "/v2/schemas/image")

    return _measure(target, "schema", sizes.schema, sizes, get)


def phase_show(target: Target, sizes: Sizes) -> dict[str, Any]:
    seeded = target.seeded

    def get(conn: Conn, i: int) -> None:
        image_id = seeded[i % len(seeded)]
        image = conn.json(200, "GET", f"/v2/images/{image_id}")
        if image.get("id") != image_id:
            raise BenchError(f"GET /v2/images/{image_id}: wrong image {image.get('id')}")

    return _measure(target, "show", sizes.show, sizes, get)


def _list_phase(
    target: Target, phase: str, query: str, count: int, want: int, sizes: Sizes
) -> dict[str, Any]:
    def get(conn: Conn, i: int) -> None:
        body = conn.json(200, "GET", f"/v2/images?{query}")
        got = len(body.get("images", []))
        if got < want:
            raise BenchError(f"GET /v2/images?{query}: {got} images, wanted at least {want}")

    result = _measure(target, phase, count, sizes, get)
    result["query"] = query
    return result


def phase_list25(target: Target, sizes: Sizes) -> dict[str, Any]:
    return _list_phase(target, "list25", "limit=25", sizes.list25, 25, sizes)


def phase_list1000(target: Target, sizes: Sizes) -> dict[str, Any]:
    want = min(1000, len(target.seeded))
    return _list_phase(target, "list1000", "limit=1000", sizes.list1000, want, sizes)


def phase_filtered(target: Target, sizes: Sizes) -> dict[str, Any]:
    query = "disk_format=raw&sort=name:asc&limit=25"
    return _list_phase(target, "filtered", query, sizes.filtered, 25, sizes)


def phase_create(target: Target, sizes: Sizes) -> dict[str, Any]:
    def create(conn: Conn, i: int) -> None:
        name = f"bench-{target.run_id}-new-{uuid.uuid4().hex[:8]}"
        image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
        target.track(image["id"])

    return _measure(target, "create", sizes.create, sizes, create)


def phase_patch(target: Target, sizes: Sizes) -> dict[str, Any]:
    seeded = target.seeded
    serial = itertools.count()

    def patch(conn: Conn, i: int) -> None:
        image_id = seeded[i % len(seeded)]
        name = f"bench-{target.run_id}-p{next(serial):06d}"
        ops = [{"op": "replace", "path": "/name", "value": name}]
        image = conn.json(
            200, "PATCH", f"/v2/images/{image_id}", body=ops, headers={"Content-Type": PATCH_TYPE}
        )
        if image.get("name") != name:
            raise BenchError(f"PATCH /v2/images/{image_id}: name is {image.get('name')!r}")

    return _measure(target, "patch", sizes.patch, sizes, patch)


class Payload:
    """``mib`` blocks of one random MiB, and the md5/sha512 of the whole (computed once)."""

    def __init__(self, mib: int) -> None:
        self.mib = mib
        self.block = os.urandom(MiB)
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()

    def blocks(self) -> Iterator[bytes]:
        for _ in range(self.mib):
            yield self.block

    def digest(self, algo: str) -> str:
        with self._lock:
            if algo not in self._digests:
                h = hashlib.new(algo)
                for block in self.blocks():
                    h.update(block)
                self._digests[algo] = h.hexdigest()
            return self._digests[algo]


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

    conn = Conn(target.ep)
    try:
        infos = [conn.json(200, "GET", f"/v2/images/{image_id}") for image_id in image_ids]
    finally:
        conn.close()
    problems = [problem for info in infos for problem in _check_image(info, payload)]
    for problem in problems:
        target.error("upload", problem)
    result["verified"] = not problems
    return result


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
    if canary_id is not None:
        canary_thread.join(600)

    result: dict[str, Any] = {
        "bytes": sent,
        "seconds": round(elapsed, 3),
        "mib_s": round(sent / MiB / elapsed, 1),
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


def _check_image(info: dict[str, Any], payload: Payload) -> list[str]:
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

    size = payload.mib * MiB
    problems = []
    for got in [first_bytes, *(n for n, _, _ in raw)]:
        if got != size:
            problems.append(f"download returned {got} bytes, wanted {size}")
    if verified_bytes != size:
        problems.append(f"verified download returned {verified_bytes} bytes, wanted {size}")
    if hashers["md5"].hexdigest() != info.get("checksum"):
        problems.append("md5 of the download != the image's checksum")
    if hashers[algo].hexdigest() != info.get("os_hash_value"):
        problems.append(f"{algo} of the download != the image's os_hash_value")
    if hashers[algo].hexdigest() != payload.digest(algo):
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


def phase_cycles(target: Target, sizes: Sizes, payload: Payload) -> dict[str, Any]:
    block = payload.block

    def cycle(conn: Conn, i: int) -> None:
        name = f"bench-{target.run_id}-cycle-{uuid.uuid4().hex[:8]}"
        image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
        image_id = image["id"]
        try:
            put_chunked(target.ep, f"/v2/images/{image_id}/file", iter((block,)))
            conn.expect(204, "DELETE", f"/v2/images/{image_id}")
        except Exception:
            target.track(image_id)  # cleanup tries again
            raise

    return load_run(target, "cycles", CYCLE_CONCURRENCY, sizes.cycles, sizes.run_seconds * 2, cycle)


def cleanup(target: Target) -> dict[str, Any]:
    with target.lock:
        ids, target.created = list(target.created), []
    if not ids:
        return {"requests": 0, "errors": 0}

    def delete(conn: Conn, i: int) -> None:
        conn.expect((204, 404), "DELETE", f"/v2/images/{ids[i]}")

    return load_run(target, "cleanup", SEED_CONCURRENCY, len(ids), 3600.0, delete, warmup=False)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Figure:
    label: str
    path: tuple[str, ...]
    unit: str
    higher_is_better: bool


def figures() -> list[Figure]:
    rows: list[Figure] = []
    load_phases = [
        ("schema", "schema GET"),
        ("show", "image GET"),
        ("list25", "list limit=25"),
        ("list1000", "list limit=1000"),
        ("filtered", "list raw, name:asc, 25"),
        ("create", "create (POST)"),
        ("patch", "PATCH /name"),
    ]
    for key, label in load_phases:
        for c in CONCURRENCIES:
            conc = f"c{c}"
            rows += [
                Figure(f"{label} {conc} req/s", (key, conc, "rps"), "req/s", True),
                Figure(f"{label} {conc} p50", (key, conc, "p50_ms"), "ms", False),
                Figure(f"{label} {conc} p99", (key, conc, "p99_ms"), "ms", False),
                Figure(
                    f"{label} {conc} server CPU", (key, conc, "cpu_ms_per_req"), "ms/req", False
                ),
            ]
    rows += [
        Figure("upload chunked", ("upload", "mib_s"), "MiB/s", True),
        Figure("upload chunked, slowest round", ("upload", "slowest_mib_s"), "MiB/s", True),
        Figure("upload server CPU", ("upload", "cpu_s_per_gib"), "s/GiB", False),
        Figure("upload peak server RSS", ("upload", "rss_peak_mib"), "MiB", False),
        Figure("upload server RSS growth", ("upload", "rss_growth_mib"), "MiB", False),
        Figure("canary during upload n", ("upload", "canary", "requests"), "GETs", True),
        Figure("canary during upload p50", ("upload", "canary", "p50_ms"), "ms", False),
        Figure("canary during upload p99", ("upload", "canary", "p99_ms"), "ms", False),
        Figure(
            "upload while serving the canary", ("upload", "canary", "upload_mib_s"), "MiB/s", True
        ),
        Figure("download", ("download", "mib_s"), "MiB/s", True),
        Figure("download, first read (warm-up)", ("download", "first_mib_s"), "MiB/s", True),
        Figure("download, slowest round", ("download", "slowest_mib_s"), "MiB/s", True),
        Figure("download server CPU", ("download", "cpu_s_per_gib"), "s/GiB", False),
        Figure("download + md5/sha512 check", ("download", "verified_mib_s"), "MiB/s", True),
        Figure("create+1MiB+delete c8", ("cycles", "rps"), "cycles/s", True),
        Figure("create+1MiB+delete c8 p50", ("cycles", "p50_ms"), "ms", False),
        Figure("create+1MiB+delete c8 p99", ("cycles", "p99_ms"), "ms", False),
        Figure("create+1MiB+delete c8 server CPU", ("cycles", "cpu_ms_per_req"), "ms/cycle", False),
        Figure("seed create c16", ("seed", "rps"), "req/s", True),
        Figure("seed create c16 server CPU", ("seed", "cpu_ms_per_req"), "ms/req", False),
        Figure("cleanup delete c16", ("cleanup", "rps"), "req/s", True),
        Figure("cleanup delete c16 server CPU", ("cleanup", "cpu_ms_per_req"), "ms/req", False),
    ]
    return rows


def lookup(results: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, int | float) else None


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_rows(targets: list[Target]) -> tuple[list[str], list[list[str]]]:
    header = ["figure", "unit", *(t.label for t in targets)]
    if len(targets) == 2:
        header += [f"{targets[0].label}/{targets[1].label}", "better"]
    rows = []
    for fig in figures():
        values = [lookup(t.results, fig.path) for t in targets]
        row = [fig.label, fig.unit, *(fmt(v) for v in values)]
        if len(targets) == 2:
            a, b = values
            if a is None or b is None:
                row += ["n/a", ""]
            else:
                ratio = a / b if b else math.inf
                row.append(f"{ratio:.2f}" if math.isfinite(ratio) else "inf")
                adv = ratio if fig.higher_is_better else (1 / ratio if ratio else math.inf)
                if not math.isfinite(adv) or adv == 0:
                    row.append("")
                elif adv >= 1:
                    row.append(f"{targets[0].label} {adv:.1f}x")
                else:
                    row.append(f"{targets[1].label} {1 / adv:.1f}x")
        rows.append(row)
    return header, rows


def print_table(targets: list[Target]) -> None:
    header, rows = table_rows(targets)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i < 2 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def markdown_table(targets: list[Target]) -> str:
    header, rows = table_rows(targets)
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def machine() -> dict[str, Any]:
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "mem_gib": round(mem_kib / (1 << 20), 1) if mem_kib else None,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": os.getloadavg(),
    }


# --------------------------------------------------------------------------- main


def parse_pids(values: list[str] | None, files: list[str] | None) -> list[int]:
    pids: list[int] = []
    for value in values or []:
        pids += [int(p) for p in value.replace(",", " ").split()]
    for path in files or []:
        pids += [int(p) for p in Path(path).read_text().split()]
    for pid in pids:
        if not Path(f"/proc/{pid}").exists():
            raise SystemExit(f"bench: no process {pid}")
    return pids


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", nargs="?", help="endpoint, e.g. http://127.0.0.1:9292")
    parser.add_argument("--compare", nargs=2, metavar=("URL_A", "URL_B"))
    parser.add_argument("--server-pids", action="append", help="server PIDs (children included)")
    parser.add_argument("--server-pid-file", action="append", help="file holding server PIDs")
    parser.add_argument("--pids-a", action="append", help="--compare: PIDs of A's server")
    parser.add_argument("--pids-b", action="append", help="--compare: PIDs of B's server")
    parser.add_argument("--pid-file-a", action="append")
    parser.add_argument("--pid-file-b", action="append")
    parser.add_argument("--name-a", default="A", help="label of A in the table")
    parser.add_argument("--name-b", default="B", help="label of B in the table")
    parser.add_argument("--quick", action="store_true", help="small counts, 64 MiB of data")
    parser.add_argument("--images", type=int, help="images to seed (default 5000, quick 150)")
    parser.add_argument("--data-mib", type=int, help="size of the big upload (default 512)")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--markdown", help="write the table here as Markdown")
    parser.add_argument("--token", default="bench", help="X-Auth-Token value")
    parser.add_argument("--timeout", type=float, default=300.0, help="socket timeout, s")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="send this header too, on every request to both endpoints (repeatable); e.g. the "
        "identity headers Glance's trusted-headers pipeline needs",
    )
    args = parser.parse_args(argv)
    if bool(args.url) == bool(args.compare):
        parser.error("give either URL or --compare URL_A URL_B")
    for header in args.header:
        name, sep, _ = header.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header {header!r}: expected NAME:VALUE")
    return args


PHASES: list[tuple[str, Callable[..., dict[str, Any]], bool]] = [
    ("check", phase_check, False),
    ("seed", phase_seed, False),
    ("schema", phase_schema, False),
    ("show", phase_show, False),
    ("list25", phase_list25, False),
    ("list1000", phase_list1000, False),
    ("filtered", phase_filtered, False),
    ("create", phase_create, False),
    ("patch", phase_patch, False),
    ("upload", phase_upload, True),
    ("download", phase_download, True),
    ("cycles", phase_cycles, True),
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    if args.images is not None:
        sizes = Sizes(**{**asdict(sizes), "images": args.images})
    if args.data_mib is not None:
        sizes = Sizes(**{**asdict(sizes), "data_mib": args.data_mib})
    run_id = uuid.uuid4().hex[:8]
    more = {n.strip(): v.strip() for n, _, v in (h.partition(":") for h in args.header)}
    if args.compare:
        specs = [
            (args.name_a, args.compare[0], parse_pids(args.pids_a, args.pid_file_a)),
            (args.name_b, args.compare[1], parse_pids(args.pids_b, args.pid_file_b)),
        ]
    else:
        specs = [("value", args.url, parse_pids(args.server_pids, args.server_pid_file))]
    targets = [
        Target(label, url, pids, Endpoint(url, args.token, args.timeout, more), run_id)
        for label, url, pids in specs
    ]
    payload = Payload(sizes.data_mib)
    machine_start = machine()
    started = time.time()
    print(
        f"bench {run_id}: {', '.join(f'{t.label}={t.url}' for t in targets)}; {sizes}", flush=True
    )

    aborted: str | None = None
    try:
        for name, func, needs_payload in PHASES:
            for target in targets:
                t0 = time.perf_counter()
                extra = (payload,) if needs_payload else ()
                try:
                    target.results[name] = func(target, sizes, *extra)
                except (BenchError, OSError, http.client.HTTPException) as exc:
                    target.error(name, str(exc) or repr(exc))
                    raise
                target.results[name]["loadavg_1m"] = round(os.getloadavg()[0], 2)
                note = _phase_note(target.results[name])
                print(
                    f"  {name:9s} {target.label:>8s}  {time.perf_counter() - t0:6.1f} s  {note}",
                    flush=True,
                )
            if name == "check":
                payload.digest("md5")  # hash the payload before anything is timed
                payload.digest("sha512")
    except (BenchError, OSError, http.client.HTTPException) as exc:
        aborted = f"aborted: {exc}"
    except KeyboardInterrupt:
        aborted = "interrupted"
    for target in targets:
        t0 = time.perf_counter()
        try:
            target.results["cleanup"] = cleanup(target)
        except KeyboardInterrupt:
            # the deleting threads are daemons: they stop when the process exits
            aborted = "interrupted during cleanup: some images were not deleted"
            target.error("cleanup", aborted)
            break
        print(
            f"  cleanup   {target.label:>8s}  {time.perf_counter() - t0:6.1f} s  "
            f"{_phase_note(target.results['cleanup'])}",
            flush=True,
        )

    print()
    print_table(targets)
    errors = [e for t in targets for e in t.errors]
    report = {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine_start,
        "loadavg_end": os.getloadavg(),
        "sizes": asdict(sizes),
        "argv": sys.argv[1:] if argv is None else argv,
        "targets": [
            {"label": t.label, "url": t.url, "pids": t.roots, "results": t.results} for t in targets
        ],
        "errors": errors,
        "aborted": aborted,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(targets))
    print(f"\n{len(errors)} errors; {report['seconds']} s")
    if errors or aborted:
        print(f"\nBENCH FAILED ({aborted or f'{len(errors)} errors'}):", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def _phase_note(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if isinstance(value, dict) and "rps" in value:
            parts.append(
                f"{key}: {fmt(value['rps'])}/s p99 {fmt(value['p99_ms'])} ms"
                + (
                    f" cpu {fmt(value.get('cpu_ms_per_req'))} ms"
                    if "cpu_ms_per_req" in value
                    else ""
                )
                + (f" ERR {value['errors']}" if value["errors"] else "")
            )
    if "rps" in result:
        parts.append(f"{fmt(result['rps'])}/s p99 {fmt(result['p99_ms'])} ms")
        if result.get("errors"):
            parts.append(f"ERR {result['errors']}")
    if "mib_s" in result:
        parts.append(f"{fmt(result['mib_s'])} MiB/s")
    if "verified_mib_s" in result:
        parts.append(f"verified {fmt(result['verified_mib_s'])} MiB/s")
    if "canary" in result:
        canary = result["canary"]
        parts.append(f"with canary {fmt(canary['upload_mib_s'])} MiB/s")
        parts.append(f"canary p99 {fmt(canary['p99_ms'])} ms")
    if "rss_growth_mib" in result:
        parts.append(f"rss +{fmt(result['rss_growth_mib'])} MiB")
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
