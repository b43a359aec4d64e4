"""``tools/bench --resumable-drill``: issue 21's acceptance for resumable uploads, as a drill
(2 GiB, 6 runs, 4 stores: too slow for CI; ``tests/e2e/test_resumable_drill_smoke.py`` runs
it small).

On a two-node ``tools/cluster`` on one store (``benchlib/drill_cluster.py``), a file of random
data (--data-mib MiB, default 2048) is uploaded by each client, the real ``tuspy``
(``benchlib/tus_upload.py``) and curl following the IETF draft (``benchlib/ietf_upload.sh``),
both in --chunk-mib chunks through the balancer, and cut at about half three ways:

* ``client-killed``: the client process SIGKILLed once the server's spool holds half the data
  (in the middle of a chunk);
* ``worker-killed``: the node's worker that holds the session's data file open (the one
  serving the chunk) SIGKILLed at that point; the client fails on its own;
* ``other-node``: the client stops after the chunk that reaches half, and the next request
  goes straight to the other node (the one that did not serve that chunk).

Then a new client resumes (through the balancer, or on the other node): it asks the offset
(HEAD) and sends the rest. Checks, per run: the bytes the servers received on the resume (their
logs' count, both nodes) equal the length minus the offset the client resumed from, and exceed
the remainder at the cut (the length minus what the spool held when it was cut) by at most one
chunk; on ``other-node`` they all reached the other node; the image is ``active``, of the file's
size, with its md5 (``checksum``) and sha512 (``os_hash_value``), its data in the store named
(its ``direct_url``). Any failed check, or any error, fails the drill (exit 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .drill_clients import Clients, Data, answers, api
from .drill_cluster import Cluster, cluster
from .sizes import MiB

CLIENTS = ("tuspy", "curl")
CUTS = ("client-killed", "worker-killed", "other-node")
LEG_TIMEOUT = 3600.0
# nginx (tools/cluster) takes a node whose worker died out of rotation for fail_timeout=5s: the
# next run starts once it is back, so that it never meets a balancer with no node left
BALANCER_RECOVERY_S = 6.0


class DrillError(Exception):
    pass


@dataclass
class Row:
    store: str
    client: str
    cut: str
    at_cut: int = 0  # bytes in the spool when it was cut
    resumed_from: int = 0  # the offset the new client was given
    resent: int = 0  # bytes the servers received on the resume
    excess: int = 0  # resent - (size - at_cut)
    wall_s: float = 0.0  # the resume, to the last response
    status: str = ""
    hashes_ok: bool = False
    scheme: str = ""  # of the image's direct_url: the store its data is in
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def make_data(work: Path, mib: int) -> Data:
    """``mib`` MiB of random data in a file, and its md5 and sha512."""
    path = work / "image.raw"
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with path.open("wb") as out:
        for _ in range(mib):
            block = os.urandom(MiB)
            md5.update(block)
            sha512.update(block)
            out.write(block)
    return Data(path, mib * MiB, md5.hexdigest(), sha512.hexdigest())


def wait_for(
    what: str, check: Any, timeout: float, proc: subprocess.Popen[str] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise DrillError(f"{what}: the client exited ({proc.returncode}) first")
        if time.monotonic() > deadline:
            raise DrillError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


def one_data_file(spool: Path) -> Path | None:
    files = list(spool.glob("*.data")) if spool.exists() else []
    return files[0] if len(files) == 1 else None


def run_one(cl: Cluster, clients: Clients, data: Data, store: str, client: str, cut: str) -> Row:
    row = Row(store, client, cut)
    tag = f"{client}-{cut}"
    half = data.size // 2
    body = {"name": f"drill-{tag}", "disk_format": "raw", "container_format": "bare"}
    image_id = api("POST", f"{cl.url}/v2/images", body)["id"]
    file_url = f"{cl.url}/v2/images/{image_id}/file"
    first = clients.start(client, file_url, half if cut == "other-node" else None, tag)
    try:
        if cut == "other-node":
            if first.wait(LEG_TIMEOUT) != 0:
                raise DrillError(f"first leg failed:\n{clients.output(tag, 'start')}")
            spooled = wait_for("the session", lambda: one_data_file(cl.spool), 10)
        else:
            spooled = wait_for("the session", lambda: one_data_file(cl.spool), 60, first)
            # past half: in the chunk that starts there (half is a chunk boundary)
            wait_for("half of the data in the spool",
                     lambda: spooled.stat().st_size > half, LEG_TIMEOUT, first)  # fmt: skip
            if cut == "client-killed":
                os.killpg(first.pid, signal.SIGKILL)
            else:
                (worker,) = wait_for("the worker", lambda: cl.holders(spooled), 10)
                os.kill(worker, signal.SIGKILL)
            first.wait(120)  # the killed worker's client fails by itself
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    session = spooled.name.removesuffix(".data")
    # the cut request ends on its node (a kept partial chunk) before anything resumes
    wait_for("the cut request to end", lambda: not cl.holders(spooled), 120)
    # what the server had received when it was cut (a killed worker's unsynced tail too)
    row.at_cut = spooled.stat().st_size
    # a node whose worker died is out of nginx's rotation for a few seconds (max_fails): the
    # resume starts once the balancer answers again, as a client retrying a 502 would
    wait_for("the balancer", lambda: answers(f"{cl.url}/v2/images/{image_id}"), 60)
    before = cl.received(session)
    base = cl.url
    other = None
    if cut == "other-node":
        last = max((t, node) for node, got in before.items() for t, _n in got)[1]
        other = "b" if last == "a" else "a"
        base = cl.nodes[other]
    session_url = f"{base}/v2/images/{image_id}/file/uploads/{session}"
    started = time.monotonic()
    second = clients.resume(client, f"{base}/v2/images/{image_id}/file",
                            session_url if client == "curl" or other else None, tag)  # fmt: skip
    code = second.wait(LEG_TIMEOUT)
    row.wall_s = round(time.monotonic() - started, 1)
    out = clients.output(tag, "resume")
    if code != 0:
        row.failures.append(f"resume failed ({code}): {out[-2000:]}")
    offsets = [
        int(line.split()[1]) for line in out.splitlines() if line.startswith("resume-offset ")
    ]
    row.resumed_from = offsets[0] if offsets else -1
    after = cl.received(session)
    sent = {
        node: sum(n for _t, n in after[node]) - sum(n for _t, n in before[node]) for node in after
    }
    row.resent = sum(sent.values())
    row.excess = row.resent - (data.size - row.at_cut)
    image = api("GET", f"{cl.url}/v2/images/{image_id}")
    row.status = str(image.get("status"))
    row.scheme = str(image.get("direct_url", "")).split("://", 1)[0]
    hashes = (image.get("checksum"), image.get("os_hash_algo"), image.get("os_hash_value"))
    row.hashes_ok = hashes == (data.md5, "sha512", data.sha512)
    check(row, data, clients.chunk, image, other, sent)
    with contextlib.suppress(OSError):
        api("DELETE", f"{cl.url}/v2/images/{image_id}")  # room in the store for the next
    return row


def check(row: Row, data: Data, chunk: int, image: dict[str, Any], other: str | None,
          sent: dict[str, int]) -> None:  # fmt: skip
    fail = row.failures.append
    if not data.size // 2 <= row.at_cut < data.size:
        fail(f"cut at {row.at_cut}, not at half")
    if not 0 <= row.resumed_from <= row.at_cut:
        fail(f"resumed from {row.resumed_from}, the cut was at {row.at_cut}")
    if row.resent != data.size - row.resumed_from:
        fail(f"the resume sent {row.resent} bytes, the rest from {row.resumed_from} is "
             f"{data.size - row.resumed_from}")  # fmt: skip
    if row.excess > chunk:
        fail(f"the resume sent {row.excess} bytes over the remainder (a chunk is {chunk})")
    if other is not None and sent[other] != row.resent:
        fail(f"the resume's bytes went to {sent}, not all to node {other}")
    if (row.status, image.get("size")) != ("active", data.size):
        fail(f"image {row.status}, size {image.get('size')}")
    if not row.scheme.startswith(row.store):  # file, swift+http, s3(+http), rbd
        fail(f"the data is not in the {row.store} store: direct_url {image.get('direct_url')}")
    if not row.hashes_ok:
        fail(f"hashes {image.get('checksum')} {image.get('os_hash_value')}")


def run_drill(store: str, mib: int, chunk_mib: int) -> list[Row]:
    rows = []
    # DRILL_KEEP=1 keeps the work directory (the nodes' logs, the clients' output) to look at
    work = Path(tempfile.mkdtemp(prefix="bench-drill-"))
    print(f"  work directory {work}", flush=True)
    try:
        started = time.monotonic()
        data = make_data(work, mib)
        print(f"  {mib} MiB of random data in {time.monotonic() - started:.1f} s", flush=True)
        with cluster(store, work) as cl:
            clients = Clients(work, data, chunk_mib * MiB)
            for client in CLIENTS:
                for cut in CUTS:
                    try:
                        row = run_one(cl, clients, data, store, client, cut)
                    except (DrillError, OSError, ValueError) as exc:
                        row = Row(store, client, cut, failures=[f"{type(exc).__name__}: {exc}"])
                    rows.append(row)
                    print(
                        f"  {client} {cut}: {'ok' if row.ok else 'FAILED'} {asdict(row)}",
                        flush=True,
                    )
                    for leftover in cl.spool.glob("*.data"):  # a failed run's session
                        leftover.unlink()
                    if cut == "worker-killed":
                        time.sleep(BALANCER_RECOVERY_S)
    finally:
        if os.environ.get("DRILL_KEEP") != "1":
            shutil.rmtree(work)
    return rows


def drill_table(rows: list[Row], mib: int, chunk_mib: int) -> str:
    def m(n: int) -> str:
        return f"{n / MiB:.1f}"

    lines = [
        f"{mib} MiB, {chunk_mib} MiB chunks; sizes in MiB",
        "",
        "| store | client | cut | offset at cut | offset at resume | bytes resent | excess over "
        "remainder | resume wall s | final status | md5+sha512 ok |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r.store} | {r.client} | {r.cut} | {m(r.at_cut)} | {m(r.resumed_from)} | "
                     f"{m(r.resent)} | {m(r.excess)} | {r.wall_s:.1f} | {r.status or '-'} | "
                     f"{'yes' if r.hashes_ok else 'NO'} |")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    for r in rows:
        for failure in r.failures:
            print(f"FAILED {r.store} {r.client} {r.cut}: {failure}")
    return table
