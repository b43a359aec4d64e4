"""Benchmark a Glance Images API v2 endpoint (imgreg or OpenStack Glance), or two side by side.

    tools/bench URL [--server-pids PID,...] [--json out.json]
    tools/bench --compare URL_A URL_B [--pids-a PID,...] [--pids-b PID,...] [--json out.json]
    tools/bench --cache [--data-mib MIB] [--json out.json] [--markdown out.md]
    tools/bench --resumable [--data-mib MIB] [--json out.json] [--markdown out.md]
    tools/bench --resumable-drill --store file|swift|s3|rbd [--data-mib MIB] [--chunk-mib MIB]
    tools/bench --catalog DB_URL [--images N] [--schema imgreg|glance]
    tools/bench --compare URL_A URL_B --big-catalog [--header NAME:VALUE ...] [--json out.json]

Phases, in order (with --compare each phase runs against A, then B, then the next phase, so
that noise from a shared machine hits both endpoints alike):

* seed: create --images images (default 5,000; half raw, half qcow2, a quarter public) with 16
  concurrent clients;
* schema GET, image GET, list limit=25, list limit=1000, a filtered sorted list
  (``?disk_format=raw&sort=name:asc&limit=25``), the public list of one status newest first
  (``?visibility=public&status=queued&sort=created_at:desc&limit=25``), create (POST), PATCH
  (replace /name), each at
  concurrency 1 and 16: requests/s, p50/p99 latency and, given the server's PIDs, server CPU
  per request (utime+stime+cutime+cstime of those processes and all their descendants, read
  from /proc/<pid>/stat before and after the measured requests);
* chunked uploads (``Transfer-Encoding: chunked``, 1 MiB chunks like glanceclient, from a
  generator repeating one random block) of --data-mib MiB (default 512), 3 rounds into 3 new
  images (2 with --quick), in MiB/s (the median round, and the slowest), with the server's peak
  VmRSS (sum over its processes, sampled every 20 ms); then as many rounds again with a
  "canary": small GETs (``GET /v2/images/<id>``) issued one after another while the upload is
  in flight (their latency, and the upload's MiB/s while it serves them); the whole machine's
  busy CPU per GiB too (``/proc/stat``);
* four such uploads at once, as many rounds: their aggregate MiB/s and the server's and the
  machine's CPU per GiB (``benchlib/upload_concurrent.py``);
* downloads of the last image: a first read (reported, as a warm-up), as many rounds counting
  bytes only (median and slowest), then one hashing md5 and the image's os_hash_algo on two
  threads and checking them against checksum/os_hash_value;
* create + upload 1 MiB + delete cycles at concurrency 8;
* cleanup: every image the run created is deleted (16 concurrent clients), also on failure.

``--cache`` runs the image cache's benchmark instead (``benchlib/cache.py``): it starts a Swift
and three imgreg-api of its own (``benchlib/cache_servers.py``) and compares downloads from
the filesystem store, from Swift without a cache, and from Swift through the cache (the first
download, which fills it, and a hit).

``--resumable`` runs the resumable uploads' benchmark instead (``benchlib/resumable.py``): on
an ``imgreg-api`` of its own, the server's and the machine's CPU of a plain PUT, a tus upload,
and a tus upload cut at half and resumed by a new client (default 256 MiB, 4 rounds).

``--resumable-drill`` runs issue 21's acceptance drill for resumable uploads instead
(``benchlib/drill.py``): on a two-node ``tools/cluster`` on --store, a file of --data-mib MiB
(default 2048) uploaded by tuspy and by curl following the IETF draft, cut at half three ways
(client killed, worker killed, the next request on the other node) and resumed; a table of
what each resume sent and how the image ended, exit 1 if any check fails.

``--catalog DB_URL`` loads a big catalog in bulk straight into an imgreg database instead
(``benchlib/catalog.py``: --images images, default 1,000,000, with properties, tags and
members; COPY on PostgreSQL, LOAD DATA on MariaDB, one executemany transaction on SQLite) and
prints the time it took; the database must be migrated (``imgreg-manage db sync``) and hold no
images. ``--schema glance`` writes the same catalog into Glance 33's tables (a database that
``glance-manage db_sync`` created; told from the ``images`` table when --schema is not given).

``--compare A B --big-catalog`` runs the big-catalog phases instead (``benchlib/bigcat.py``),
against servers already started over catalogs that ``--catalog`` loaded; it creates no image:
``bigsetup`` takes, from the servers' lists, the active images of the ``X-Project-Id`` project
(to PATCH), those and some hundreds of public images (to show), and the marker of the default
list's page 40 (or its deepest full page); then, at concurrency 1 and 16 (300 requests or 20 s
each, --quick 30 or 5 s): list limit=25, that deep page, the public list
(``visibility=public&status=active&sort=created_at:desc&limit=25``), ``sort=name:asc&limit=25``,
image GET and PATCH (replace /name) of those images; server CPU per request, req/s, p50/p99.
Run it on a million-image catalog and on a 5,000-image one from the same loader for the ratio
(docs/performance.md, "A million images, side by side").

``--phases upload,upload4`` (any of the phase names: seed, schema, show, list25, list1000,
filtered, public, create, patch, upload, upload4, download, cycles) runs those phases only,
after the server check and before the cleanup; the upload phases' canary needs ``seed`` (a
small ``--images`` will do).

Every request carries ``X-Auth-Token: bench`` and the ``--header`` options, nothing else. Any
unexpected status, exception or hash mismatch is an error; the run prints them and exits 1 if
there was any.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .bigcat import BIG, BIG_PHASES, BIG_QUICK, big_figures
from .cache import KINDS, print_cache_table, run_cache_bench
from .cache_servers import cache_servers
from .catalog_glance import SCHEMAS
from .client import BenchError, Endpoint
from .drill import drill_table, run_drill
from .drill_cluster import STORES
from .machine import machine
from .payload import Payload
from .report import markdown_table, print_table
from .resumable import resumable_table, run_resumable_bench
from .resumable_server import resumable_server
from .run import PHASE_NAMES, run_cleanup, run_phases
from .sizes import FULL, QUICK, Sizes
from .target import Target


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
    parser.add_argument(
        "--cache", action="store_true", help="the image cache's benchmark (starts its servers)"
    )
    parser.add_argument(
        "--resumable",
        action="store_true",
        help="the resumable (tus) uploads' benchmark (starts its server)",
    )
    parser.add_argument(
        "--resumable-drill",
        action="store_true",
        help="issue 21's drill: uploads cut at half and resumed on a two-node cluster",
    )
    parser.add_argument("--store", choices=STORES, default="file", help="--resumable-drill's store")
    parser.add_argument(
        "--chunk-mib", type=int, default=DRILL_CHUNK_MIB, help="--resumable-drill's chunk size"
    )
    parser.add_argument(
        "--catalog",
        metavar="DB_URL",
        help="load a catalog of --images images (default 1,000,000) into this imgreg database",
    )
    parser.add_argument(
        "--schema", choices=SCHEMAS, help="--catalog: imgreg's or Glance's tables (default: detect)"
    )
    parser.add_argument(
        "--big-catalog",
        action="store_true",
        help="--compare: lists, show and PATCH on the catalog the servers hold (no seeding)",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, 64 MiB of data")
    parser.add_argument("--images", type=int, help="images to seed (default 5000, quick 150)")
    parser.add_argument(
        "--data-mib", "--mib", type=int, help="size of the big upload (default 512)"
    )
    parser.add_argument(
        "--phases",
        help="run only these phases, comma-separated (e.g. upload,upload4); the server check "
        "always runs first, the cleanup last",
    )
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
    if not (args.cache or args.resumable or args.resumable_drill or args.catalog) and bool(
        args.url
    ) == bool(args.compare):
        parser.error("give either URL or --compare URL_A URL_B")
    if args.phases:
        names = [name.strip() for name in args.phases.split(",") if name.strip()]
        unknown = sorted(set(names) - set(PHASE_NAMES))
        if unknown or not names:
            parser.error(f"--phases: unknown {', '.join(unknown)}; known: {', '.join(PHASE_NAMES)}")
        args.phases = names
    for header in args.header:
        name, sep, _ = header.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header {header!r}: expected NAME:VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.catalog:
        return _catalog(args)
    if args.resumable_drill:
        return _drill(args)
    sizes = (BIG_QUICK if args.quick else BIG) if args.big_catalog else _sizes(args)
    if args.cache:
        return _cache(args, sizes)
    if args.resumable:
        return _resumable(args)
    run_id = uuid.uuid4().hex[:8]
    targets = _targets(args, run_id)
    payload = Payload(sizes.data_mib)
    machine_start = machine()
    started = time.time()
    print(
        f"bench {run_id}: {', '.join(f'{t.label}={t.url}' for t in targets)}; {sizes}", flush=True
    )

    phases, figs = (BIG_PHASES, big_figures()) if args.big_catalog else (None, None)
    aborted = run_phases(targets, sizes, payload, phases, args.phases)
    aborted = run_cleanup(targets, aborted)

    print()
    print_table(targets, figs)
    errors = [e for t in targets for e in t.errors]
    report = {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine_start,
        "loadavg_end": os.getloadavg(),
        "sizes": asdict(sizes),
        "argv": argv,
        "targets": [
            {"label": t.label, "url": t.url, "pids": t.roots, "results": t.results} for t in targets
        ],
        "errors": errors,
        "aborted": aborted,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(targets, figs))
    print(f"\n{len(errors)} errors; {report['seconds']} s")
    if errors or aborted:
        print(f"\nBENCH FAILED ({aborted or f'{len(errors)} errors'}):", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from .catalog import load_catalog  # needs SQLAlchemy and a driver: only here

    images = 1_000_000 if args.images is None else args.images
    print(f"bench --catalog: {images} images", flush=True)
    result = load_catalog(args.catalog, images, schema=args.schema)
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


CACHE_ROUNDS = 9  # --cache without --quick: its downloads take seconds, its noise is large


def _cache(args: argparse.Namespace, sizes: Sizes) -> int:
    payload = Payload(sizes.data_mib)
    loadavg_start = os.getloadavg()
    machine_start = machine()
    started = time.time()
    rounds = sizes.rounds if args.quick else CACHE_ROUNDS
    print(f"bench --cache: {sizes.data_mib} MiB, {rounds} rounds, load average {loadavg_start}",
          flush=True)  # fmt: skip
    with cache_servers() as (servers, _swift):
        result = run_cache_bench(servers, payload, rounds, args.token)
    table = print_cache_table(result)
    head = {"machine": machine_start, "loadavg_start": loadavg_start}
    _write(args, started, {**head, "data_mib": sizes.data_mib, "rounds": rounds}, "cache",
           result, table)  # fmt: skip
    if not all(result[kind]["verified"] for kind in KINDS):
        print("BENCH FAILED: a download's sha512 differs from the upload's", file=sys.stderr)
        return 1
    return 0


RESUMABLE_MIB = 256
RESUMABLE_ROUNDS = 4


def _resumable(args: argparse.Namespace) -> int:
    mib = args.data_mib or (32 if args.quick else RESUMABLE_MIB)
    rounds = 2 if args.quick else RESUMABLE_ROUNDS
    payload = Payload(mib)
    machine_start = machine()
    started = time.time()
    print(f"bench --resumable: {mib} MiB, {rounds} rounds", flush=True)
    with resumable_server() as (url, pid):
        try:
            result = run_resumable_bench(url, [pid], payload, rounds, args.token)
        except BenchError as exc:
            print(f"BENCH FAILED: {exc}", file=sys.stderr)
            return 1
    table = resumable_table(result, mib, rounds)
    head = {"machine": machine_start, "data_mib": mib, "rounds": rounds}
    _write(args, started, head, "resumable", result, table)
    return 0


DRILL_MIB = 2048
DRILL_CHUNK_MIB = 64


def _drill(args: argparse.Namespace) -> int:
    mib = args.data_mib or DRILL_MIB
    machine_start = machine()
    started = time.time()
    print(f"bench --resumable-drill: {args.store}, {mib} MiB, {args.chunk_mib} MiB chunks",
          flush=True)  # fmt: skip
    rows = run_drill(args.store, mib, args.chunk_mib)
    table = drill_table(rows, mib, args.chunk_mib)
    head = {"machine": machine_start, "store": args.store, "data_mib": mib,
            "chunk_mib": args.chunk_mib}  # fmt: skip
    result = {"rows": [{**asdict(r), "ok": r.ok} for r in rows]}
    _write(args, started, head, "resumable_drill", result, table)
    failed = [r for r in rows if not r.ok]
    if failed:
        print(f"DRILL FAILED: {len(failed)} of {len(rows)} runs", file=sys.stderr)
        return 1
    print(f"drill ok: {len(rows)} runs")
    return 0


def _write(
    args: argparse.Namespace,
    started: float,
    head: dict[str, Any],
    name: str,
    result: dict[str, Any],
    table: str,
) -> None:
    """The run's report: ``--json`` (when it started, how long it took, the load average at
    its end, ``head``, and ``result`` under ``name``) and ``--markdown`` (the table)."""
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        **head,
        "loadavg_end": os.getloadavg(),
        name: result,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


def _sizes(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    if args.images is not None:
        sizes = Sizes(**{**asdict(sizes), "images": args.images})
    if args.data_mib is not None:
        sizes = Sizes(**{**asdict(sizes), "data_mib": args.data_mib})
    return sizes


def _targets(args: argparse.Namespace, run_id: str) -> list[Target]:
    """One target (``value``), or A and B with --compare; exits on a PID that is not running."""
    more = {n.strip(): v.strip() for n, _, v in (h.partition(":") for h in args.header)}
    if args.compare:
        specs = [
            (args.name_a, args.compare[0], parse_pids(args.pids_a, args.pid_file_a)),
            (args.name_b, args.compare[1], parse_pids(args.pids_b, args.pid_file_b)),
        ]
    else:
        specs = [("value", args.url, parse_pids(args.server_pids, args.server_pid_file))]
    return [
        Target(label, url, pids, Endpoint(url, args.token, args.timeout, more), run_id)
        for label, url, pids in specs
    ]
