"""Two ``imgreg-api`` nodes sharing PostgreSQL and one store, behind nginx and behind HAProxy
(``tools/cluster``, one cluster for the module, its balancer switched per parameter).

* what node A stored, node B serves, lists, updates and deletes;
* concurrent uploads through the balancer reach both nodes and lose nothing;
* a drained node (its ``/healthcheck`` drain file) gets no more requests from the balancer;
* with every node unready (the shared store gone), the balancer fails open;
* a node killed during a load loop: the balancer routes around it (errors only while it
  notices), and after ``imgreg-manage scrub`` the invariants hold (``imgreg-manage check``).

The cluster's database is always PostgreSQL, so this runs once, in the PostgreSQL pass of
``tools/test``. The figures of the load loops are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import random
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import BIN, child_pids, worker_writing

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "tools" / "cluster"
MiB = 1024 * 1024
LEASE_SECONDS = 5  # upload_lease_seconds of the nodes: what a killed node left is reapable soon
DETECTION_SECONDS = 5.0  # errors are allowed only this long after a node dies
JSON_PATCH = "application/openstack-images-v2.1-json-patch"

pytestmark = pytest.mark.e2e


@dataclasses.dataclass
class Cluster:
    state: Path
    balancer: str
    url: str
    node_urls: dict[str, str]

    def node_dir(self, node: str) -> Path:
        return self.state / f"node-{node}"

    def access_log(self, node: str) -> str:
        return (self.node_dir(node) / "access.log").read_text(errors="replace")

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        conf = self.node_dir("a") / "imgreg-api.conf"
        return subprocess.run(
            [str(BIN / "imgreg-manage"), "--config-file", str(conf), *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def run_cluster(state: Path, *args: str) -> dict[str, str]:
    """``tools/cluster --state STATE ARGS``; the cluster's addresses (cluster.env)."""
    proc = subprocess.run(
        [str(CLUSTER), "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"tools/cluster {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    env_file = state / "cluster.env"
    if not env_file.exists():
        return {}
    return dict(line.split("=", 1) for line in shlex.split(env_file.read_text()))


@pytest.fixture(scope="module")
def cluster_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("cluster")
    extra = state / "extra.conf"
    extra.write_text(f"[DEFAULT]\nupload_lease_seconds = {LEASE_SECONDS}\n")
    try:
        yield state
    finally:
        run_cluster(state, "down")


@pytest.fixture(scope="module", params=["nginx", "haproxy"])
def cluster(request: pytest.FixtureRequest, cluster_state: Path) -> Cluster:
    """The cluster behind ``request.param``; ``up`` also restarts a node a test killed."""
    started = time.monotonic()
    env = run_cluster(
        cluster_state,
        "--balancer",
        request.param,
        "--conf-extra",
        str(cluster_state / "extra.conf"),
        "up",
    )
    print(f"\ntools/cluster up --balancer {request.param}: {time.monotonic() - started:.1f} s")
    return Cluster(
        state=cluster_state,
        balancer=request.param,
        url=env["IMGREG_CLUSTER_URL"],
        node_urls={"a": env["IMGREG_CLUSTER_NODE_A"], "b": env["IMGREG_CLUSTER_NODE_B"]},
    )


def create(session: requests.Session, url: str, **headers: str) -> requests.Response:
    body = {"name": "cluster", "disk_format": "raw", "container_format": "bare"}
    return session.post(f"{url}/v2/images", json=body, headers=headers, timeout=60)


def upload(
    session: requests.Session, url: str, image_id: str, data: bytes, **headers: str
) -> requests.Response:
    return session.put(
        f"{url}/v2/images/{image_id}/file",
        data=data,
        headers={"Content-Type": "application/octet-stream", **headers},
        timeout=120,
    )


def served_by(cluster: Cluster, request_ids: list[str]) -> dict[str, int]:
    """How many of ``request_ids`` each node's access log shows (a worker writes the line
    just after the response, so the last ones may take a moment)."""
    deadline = time.monotonic() + 5
    while True:
        counts = {}
        for node in cluster.node_urls:
            log = cluster.access_log(node)
            counts[node] = sum(1 for rid in request_ids if rid in log)
        if sum(counts.values()) >= len(request_ids) or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def stored_on_a_served_by_b(cluster: Cluster) -> str:
    """An image stored through node a, then served, listed, updated and deleted through node b
    (node a sees each change); its id."""
    a, b = cluster.node_urls["a"], cluster.node_urls["b"]
    session = requests.Session()
    data = random.randbytes(3 * MiB + 17)
    resp = create(session, a)
    assert resp.status_code == 201, resp.text
    image_id = resp.json()["id"]
    assert upload(session, a, image_id, data).status_code == 204

    got = session.get(f"{b}/v2/images/{image_id}/file", timeout=60)
    assert got.status_code == 200
    assert got.content == data
    image = session.get(f"{b}/v2/images/{image_id}", timeout=30).json()
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    listed = session.get(f"{b}/v2/images?limit=1000", timeout=30).json()["images"]
    assert image_id in [i["id"] for i in listed]

    patch = [{"op": "replace", "path": "/name", "value": "renamed on b"}]
    resp = session.patch(
        f"{b}/v2/images/{image_id}", json=patch, headers={"Content-Type": JSON_PATCH}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert session.get(f"{a}/v2/images/{image_id}", timeout=30).json()["name"] == "renamed on b"

    assert session.delete(f"{b}/v2/images/{image_id}", timeout=30).status_code == 204
    assert session.get(f"{a}/v2/images/{image_id}", timeout=30).status_code == 404
    return image_id


def test_stored_on_a_served_by_b(cluster: Cluster) -> None:
    image_id = stored_on_a_served_by_b(cluster)
    assert not (cluster.state / "images" / image_id).exists()


def staged_on_a_imported_on_b(cluster: Cluster) -> str:
    """Stage through node A, import (glance-direct) through node B: the staged data is in the
    shared store, not on A's disk, so B imports it (no proxying to the staging node); the
    image is active with the staged data's hashes and B served it. Its id."""
    session = requests.Session()
    data = random.randbytes(3 * MiB)
    image_id = create(session, cluster.node_urls["a"]).json()["id"]
    staged = session.put(
        f"{cluster.node_urls['a']}/v2/images/{image_id}/stage",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert staged.status_code == 204, staged.text
    rid = f"req-{uuid.uuid4()}"
    started = session.post(
        f"{cluster.node_urls['b']}/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}},
        headers={"X-Openstack-Request-Id": rid},
        timeout=60,
    )
    assert started.status_code == 202, started.text
    assert served_by(cluster, [rid]) == {"a": 0, "b": 1}
    deadline = time.monotonic() + 60
    while True:
        image = session.get(f"{cluster.url}/v2/images/{image_id}", timeout=30).json()
        if image["status"] != "importing" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert image["status"] == "active", image
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert session.get(f"{cluster.url}/v2/images/{image_id}/file", timeout=60).content == data
    # the image settles first, then the task records its end
    deadline = time.monotonic() + 30
    while True:
        url = f"{cluster.url}/v2/images/{image_id}/tasks"
        tasks = session.get(url, timeout=30).json()["tasks"]
        if tasks[0]["status"] != "processing" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(t["status"], t["request_id"]) for t in tasks] == [("success", rid)]
    return str(image_id)


def test_staged_on_a_imported_on_b(cluster: Cluster) -> None:
    image_id = staged_on_a_imported_on_b(cluster)
    assert (cluster.state / "images" / image_id).exists()  # the staged blob, adopted
    resp = requests.delete(f"{cluster.url}/v2/images/{image_id}", timeout=60)
    assert resp.status_code == 204, resp.text
    assert not (cluster.state / "images" / image_id).exists()


def upload_concurrently(cluster: Cluster, uploads: int, threads: int) -> list[str]:
    """``uploads`` uploads of 1-4 MiB through the balancer from ``threads`` threads: no error,
    both nodes took some, every image is active with the right size and checksums; their ids."""
    local = threading.local()
    sizes = [random.randint(1 * MiB, 4 * MiB) for _ in range(uploads)]

    def one(size: int) -> tuple[str, bytes, list[int], str]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        data = random.randbytes(size)
        rid = f"req-{uuid.uuid4()}"
        created = create(session, cluster.url)
        if created.status_code != 201:
            return "", data, [created.status_code], rid
        image_id = created.json()["id"]
        put = upload(session, cluster.url, image_id, data, **{"X-Openstack-Request-Id": rid})
        return image_id, data, [created.status_code, put.status_code], rid

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, sizes))
    elapsed = time.monotonic() - started
    statuses = [s for _, _, ss, _ in results for s in ss]
    per_node = served_by(cluster, [rid for *_, rid in results])
    print(
        f"\n{cluster.balancer}: {uploads} uploads ({sum(sizes) / MiB:.0f} MiB) from {threads} "
        f"threads, {len(statuses)} requests in {elapsed:.1f} s, "
        f"{sum(s >= 500 for s in statuses)} 5xx; uploads per node {per_node}"
    )
    assert sorted(set(statuses)) == [201, 204]
    assert sum(per_node.values()) == uploads
    assert min(per_node.values()) > 0, per_node  # both nodes took uploads
    session = requests.Session()
    for image_id, data, _, _ in results:
        image = session.get(f"{cluster.url}/v2/images/{image_id}", timeout=30).json()
        assert image["status"] == "active"
        assert image["size"] == len(data)
        assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    return [image_id for image_id, *_ in results]


def test_concurrent_uploads_through_the_balancer_lose_nothing(cluster: Cluster) -> None:
    session = requests.Session()
    for image_id in upload_concurrently(cluster, uploads=40, threads=8):
        assert session.delete(f"{cluster.url}/v2/images/{image_id}", timeout=30).status_code == 204


def requests_reach(cluster: Cluster, count: int) -> dict[str, int]:
    """Send ``count`` GETs through the balancer; which nodes they reached (all must be 200)."""
    session = requests.Session()
    rids = [f"req-{uuid.uuid4()}" for _ in range(count)]
    for rid in rids:
        resp = session.get(
            f"{cluster.url}/v2/images", headers={"X-Openstack-Request-Id": rid}, timeout=30
        )
        assert resp.status_code == 200
        assert resp.headers["X-Openstack-Request-Id"] == rid
    return served_by(cluster, rids)


def wait_for(what: str, condition: Any, timeout: float = 15.0) -> float:
    """Poll ``condition()`` until true; the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def test_a_drained_node_gets_no_new_requests(cluster: Cluster) -> None:
    drain = cluster.node_dir("a") / "healthcheck_disable"
    drain.touch()
    try:
        took = wait_for("balancer drains node a", lambda: requests_reach(cluster, 6)["a"] == 0)
        assert requests_reach(cluster, 20) == {"a": 0, "b": 20}
        # drained, not down: a request sent to it directly is still served
        assert requests.get(f"{cluster.node_urls['a']}/v2/images", timeout=30).status_code == 200
        print(f"\n{cluster.balancer}: node a drained after {took:.1f} s")
    finally:
        drain.unlink()
    wait_for("balancer takes node a back", lambda: requests_reach(cluster, 6)["a"] > 0)


def test_with_every_node_unready_the_balancer_fails_open(cluster: Cluster) -> None:
    """The shared store gone for both nodes: both fail /healthcheck, and the balancer still
    sends requests to them (the ones that need no store are served) instead of 503 to all."""
    partial = cluster.state / "images" / ".partial"
    away = partial.with_name(".partial-away")
    partial.rename(away)
    try:
        for url in cluster.node_urls.values():
            resp = requests.get(f"{url}/healthcheck", timeout=10)
            assert (resp.status_code, resp.text) == (503, "OK\nSTORE UNAVAILABLE")
        time.sleep(3)  # both balancers have noticed (HAProxy: 2 checks 1 s apart; the watcher: 1 s)
        assert sum(requests_reach(cluster, 10).values()) == 10
    finally:
        away.rename(partial)
    wait_for(
        "the balancer sees the nodes ready again",
        lambda: requests.get(f"{cluster.url}/healthcheck", timeout=10).status_code == 200,
    )


@dataclasses.dataclass
class LoadResult:
    requests: int = 0
    errors: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    uploaded: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (id, md5)


def test_a_worker_killed_mid_upload_is_reaped_by_one_node(cluster: Cluster) -> None:
    """One of node b's workers SIGKILLed mid-upload, both nodes serving on: within a lease and
    a reaper period (the default, half the lease) the image is queued again, taken back by
    exactly one sweep on one of the nodes, and uploadable through the balancer."""
    session = requests.Session()
    image_id = create(session, cluster.url).json()["id"]
    data = os.urandom(5 * MiB)
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield data[: 4 * MiB + 1]
        release.wait(30)
        yield data[4 * MiB + 1 :]

    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(upload(requests.Session(), cluster.node_urls["b"], image_id, body()))  # type: ignore[arg-type]
        except requests.RequestException as exc:  # its worker is killed
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    partial = cluster.state / "images" / ".partial"
    deadline = time.monotonic() + 30
    while not any(p.stat().st_size >= 4 * MiB for p in partial.glob(f"{image_id}.*")):
        assert time.monotonic() < deadline, f"the upload did not reach node b's store: {outcome}"
        time.sleep(0.02)
    master = int((cluster.node_dir("b") / "pid").read_text())
    os.kill(worker_writing(child_pids(master), partial), signal.SIGKILL)
    killed = time.monotonic()
    release.set()
    sender.join(30)
    while session.get(f"{cluster.url}/v2/images/{image_id}", timeout=30).json()["status"] != (
        "queued"
    ):
        assert time.monotonic() - killed < 3 * LEASE_SECONDS, "still saving"
        time.sleep(0.05)
    elapsed = time.monotonic() - killed
    print(
        f"\n{cluster.balancer}: a worker of node b killed mid-upload; queued {elapsed:.2f} s later"
    )
    assert elapsed <= LEASE_SECONDS + LEASE_SECONDS / 2 + 1.5  # 1 s: timestamps to the second
    assert upload(session, cluster.url, image_id, data).status_code == 204
    reclaimed = f"image {image_id} was saving past its upload lease; now queued"
    logs = [(cluster.node_dir(n) / "imgreg-api.log").read_text(errors="replace") for n in "ab"]
    assert sum(log.count(reclaimed) for log in logs) == 1
    check = cluster.manage("check")
    assert check.returncode == 0, check.stdout + check.stderr


TUS_IDENTITY = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "tus",
    "X-User-Id": "u1",
    "X-Roles": "member,reader",
}


# before the killed-node test below: the cluster is the module's, and a node killed stays down
# until the next balancer's `up`
def test_a_resumable_upload_started_on_a_goes_on_on_b(cluster: Cluster, tmp_path: Path) -> None:
    """tus with the real ``tuspy`` client: the session made and half sent on node a, the
    client gone; a new client, sent by the balancer's turn to node b, asks b the offset and
    sends b the rest (the nodes share ``resumable_upload_dir``, as they share the store)."""
    from tusclient import client as tus_client
    from tusclient.storage.filestorage import FileStorage

    a, b = cluster.node_urls["a"], cluster.node_urls["b"]
    data = random.randbytes(8 * MiB + 5)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    resp = create(requests.Session(), a, **TUS_IDENTITY)
    assert resp.status_code == 201, resp.text
    image_id = resp.json()["id"]
    storage = FileStorage(str(tmp_path / "urls.json"))
    on_a = tus_client.TusClient(f"{a}/v2/images/{image_id}/file", headers=TUS_IDENTITY)
    first = on_a.uploader(str(path), chunk_size=MiB, store_url=True, url_storage=storage)
    first.upload(stop_at=4 * MiB)
    assert first.url is not None
    session = first.url.rsplit("/", 1)[1]
    first.set_url(f"{b}/v2/images/{image_id}/file/uploads/{session}")  # the balancer's turn
    on_b = tus_client.TusClient(f"{b}/v2/images/{image_id}/file", headers=TUS_IDENTITY)
    second = on_b.uploader(str(path), chunk_size=MiB, store_url=True, url_storage=storage)
    assert second.offset == 4 * MiB  # asked of b, which read what a made durable
    second.upload()
    image = requests.get(f"{a}/v2/images/{image_id}", headers=TUS_IDENTITY, timeout=30).json()
    assert (image["status"], image["size"]) == ("active", len(data))
    assert image["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    patches = {
        node: cluster.access_log(node).count(f"PATCH /v2/images/{image_id}/file/uploads/")
        for node in ("a", "b")
    }
    assert patches == {"a": 4, "b": 5}  # 1 MiB chunks: four on a, the rest (4 MiB + 5) on b
    assert not list((cluster.state / "tus").iterdir())


def load_loop(cluster: Cluster, seconds: float, threads: int, kill_at: float) -> LoadResult:
    """Create + upload (64-512 KiB) + download cycles through the balancer from ``threads``
    threads for ``seconds``; node b is SIGKILLed (with its workers) ``kill_at`` seconds in."""
    result = LoadResult()
    lock = threading.Lock()
    started = time.monotonic()

    def record(method: str, status: int | str) -> None:
        with lock:
            result.requests += 1
            if not isinstance(status, int) or status >= 500:
                result.errors.append((time.monotonic() - started, f"{method} {status}"))

    def call(method: str, path: str, **kw: Any) -> requests.Response | None:
        try:
            resp = session_of().request(method, f"{cluster.url}{path}", timeout=60, **kw)
        except requests.RequestException as exc:
            record(method, type(exc).__name__)
            return None
        record(method, resp.status_code)
        return resp

    local = threading.local()

    def session_of() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        session: requests.Session = local.session
        return session

    def worker() -> None:
        while time.monotonic() - started < seconds:
            resp = call(
                "POST", "/v2/images", json={"disk_format": "raw", "container_format": "bare"}
            )
            if resp is None or resp.status_code != 201:
                continue
            image_id = resp.json()["id"]
            data = random.randbytes(random.randint(64 * 1024, 512 * 1024))
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            resp = call(
                "PUT",
                f"/v2/images/{image_id}/file",
                data=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            if resp is None or resp.status_code != 204:
                continue
            with lock:
                result.uploaded.append((image_id, md5))
            resp = call("GET", f"/v2/images/{image_id}/file")
            if resp is not None and resp.status_code == 200:
                assert hashlib.md5(resp.content, usedforsecurity=False).hexdigest() == md5

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    time.sleep(kill_at)
    pid = int((cluster.node_dir("b") / "pid").read_text())
    os.killpg(pid, signal.SIGKILL)  # the master and its workers: the node is gone at once
    for thread in pool:
        thread.join(seconds + 120)
    return result


def killed_under_load(cluster: Cluster, label: str) -> LoadResult:
    """``load_loop`` with node b killed 3 s in: errors only while the balancer notices (none
    before the kill, none after DETECTION_SECONDS), and every acknowledged upload intact."""
    seconds, threads, kill_at = 12.0, 6, 3.0
    result = load_loop(cluster, seconds, threads, kill_at)
    after = [round(t - kill_at, 2) for t, _ in result.errors]
    print(
        f"\n{label}: {result.requests} requests in {seconds:.0f} s from {threads} threads, "
        f"node b killed at {kill_at:.0f} s; {len(result.errors)} errors "
        f"{list(zip(after, (e for _, e in result.errors), strict=True))} (seconds after the "
        f"kill); {len(result.uploaded)} uploads acknowledged"
    )
    assert result.requests > 50
    assert all(0 <= t < DETECTION_SECONDS for t in after), after  # none before, none after
    assert len(result.errors) <= 2 * threads  # at most the requests in flight, twice

    session = requests.Session()
    for image_id, md5 in result.uploaded:
        image = session.get(f"{cluster.url}/v2/images/{image_id}", timeout=30).json()
        assert (image["status"], image["checksum"]) == ("active", md5)
    return result


def test_killed_node_is_routed_around_and_leaves_nothing_behind(cluster: Cluster) -> None:
    killed_under_load(cluster, cluster.balancer)
    session = requests.Session()
    time.sleep(LEASE_SECONDS + 1)  # the leases of uploads node b held expire
    scrub = cluster.manage("scrub")
    assert scrub.returncode == 0, scrub.stderr
    saving = session.get(f"{cluster.url}/v2/images?status=saving", timeout=30).json()
    assert saving["images"] == []
    check = cluster.manage("check")
    assert check.returncode == 0, check.stdout + check.stderr
    partial = cluster.state / "images" / ".partial"
    assert list(partial.iterdir()) == []
