"""Crash consistency of ``imgreg-api`` as a subprocess: SIGKILL during uploads, restart, and
``imgreg-manage check``; and the durable write order, read from ``strace``.

The kill points are the named fault points of ``imgreg.faults`` (``IMGREG_FAULT``: the worker
SIGKILLs itself there), plus one kill from outside: the test SIGKILLs the workers by pid while
the body is still arriving. Each test then kills what is left of the server (master and
workers, by pid), waits out the short upload lease, checks that ``imgreg-manage check`` sees the
debris, starts a new server on the same database and store (whose start-up reaper repairs it),
and requires ``check`` to pass and the image to be queued (or active, after the commit) and
uploadable again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import requests

from tests.support import dbs
from tests.support.client import stored_files
from tests.support.server import (
    Server,
    child_pids,
    create,
    kill,
    manage,
    show,
    start_api,
    upload,
    wait_for,
)

MiB = 1 << 20
DATA = os.urandom(5 * MiB) + b"tail"  # over one store block (4 MiB)
LEASE = 2  # seconds: short, so a test can wait it out


def launch(
    tmp_path: Path,
    db_url: str,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    **options: object,
) -> Server:
    """``start_api`` with the short upload lease, in its own process group (a worker forked
    after ``kill`` listed the master's children dies with the group)."""
    options = {"upload_lease_seconds": LEASE, **options}
    return start_api(tmp_path, db_url, options, env=env, prefix=prefix, new_session=True)


def kill_from_outside_mid_body(server: Server, image_id: str) -> None:
    """Stream 4+ MiB, wait until the worker wrote them to the partial file, SIGKILL it all."""
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield DATA[: 4 * MiB + 1]
        release.wait(30)
        yield DATA[4 * MiB + 1 :]

    errors: list[BaseException] = []

    def send() -> None:
        try:
            upload(server, image_id, body())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    partial = server.store_dir / ".partial"

    def written() -> bool:
        return any(p.stat().st_size >= 4 * MiB for p in partial.glob(f"{image_id}.*"))

    wait_for(written, "4 MiB in the partial file")
    kill(server)
    release.set()
    thread.join(30)
    assert errors, "the upload should have failed: its server was killed"


# outside_mid_body and after_rename leave the database as mid_body and before_commit do (the
# same debris below): they run in tools/test's first pass only (``first_pass``), the other three,
# one of each kind of debris, on every engine
FIRST_PASS_ONLY = pytest.mark.first_pass
KILL_POINTS = [
    pytest.param("outside_mid_body", marks=FIRST_PASS_ONLY),
    "mid_body",
    pytest.param("after_rename", marks=FIRST_PASS_ONLY),
    "before_commit",
    "after_commit",
]
# What `imgreg-manage check` says before the restart, once the lease has run out.
DEBRIS = {
    "outside_mid_body": ["partial file", "saving past its upload lease"],
    "mid_body": ["partial file", "saving past its upload lease"],
    "after_rename": ["no image owns it", "saving past its upload lease"],
    "before_commit": ["no image owns it", "saving past its upload lease"],
    "after_commit": [],
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_upload_leaves_nothing_after_restart(tmp_path, clean_db, servers, point):
    env = {} if point == "outside_mid_body" else {"IMGREG_FAULT": point}
    first = launch(tmp_path, clean_db, env)
    servers.append(first)
    bystander = create(first)  # another queued image, untouched by the crash
    image_id = create(first)
    if point == "outside_mid_body":
        kill_from_outside_mid_body(first, image_id)
    else:  # every worker dies at the point: the bystander's data goes in after the restart
        with pytest.raises(requests.ConnectionError):
            upload(first, image_id, DATA)
        kill(first)
    time.sleep(LEASE + 1.5)

    before = manage(first, "check")
    lines = before.stdout.splitlines()
    for text in DEBRIS[point]:
        assert any(image_id in line and text in line for line in lines), before.stdout
    assert before.returncode == (1 if DEBRIS[point] else 0), before.stdout + before.stderr

    second = launch(tmp_path, clean_db)
    servers.append(second)
    assert "start-up reaper:" in second.log()
    after = manage(second, "check")
    assert (after.returncode, after.stdout.strip()) == (0, "check: ok"), after.stdout
    shown = show(second, image_id)
    if point == "after_commit":
        assert shown["status"] == "active"
        assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
        assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    else:
        assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
        assert stored_files(second.store_dir) == []
        assert upload(second, image_id, DATA).status_code == 204
    assert upload(second, bystander, b"bystander").status_code == 204
    got = requests.get(f"{second.url}/v2/images/{image_id}/file", timeout=30)
    assert (got.status_code, got.content == DATA) == (200, True)
    assert sorted(stored_files(second.store_dir)) == sorted([image_id, bystander])
    final = manage(second, "check")
    assert (final.returncode, final.stdout.strip()) == (0, "check: ok"), final.stdout
    scrub = manage(second, "scrub")
    assert scrub.returncode == 0, scrub.stderr
    assert "reaped: 0 expired upload(s)" in scrub.stdout


# -- write order -----------------------------------------------------------------------------
TRACED = "openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,sendto"
LINE = re.compile(r"^(\d+)\s+(.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
PADDED = re.compile(r"\)\s+= (?=[^=]*$)")  # strace aligns a short call's " = " to a column


def syscalls(trace: str) -> list[tuple[int, str]]:
    """(thread id, whole call) in the order the calls *completed*; strace splits a call that
    another thread interrupted into "<unfinished ...>" and "<... name resumed>" lines."""
    pending: dict[int, str] = {}
    calls = []
    for line in trace.splitlines():
        match = LINE.match(line)
        if match is None:
            continue
        tid, text = int(match[1]), match[2]
        if text.endswith("<unfinished ...>"):
            pending[tid] = text.removesuffix("<unfinished ...>").rstrip()
            continue
        resumed = RESUMED.match(text)
        if resumed is not None:
            text = pending.pop(tid, resumed[1] + "(") + resumed[2]
        calls.append((tid, PADDED.sub(") = ", text)))
    return calls


def first(calls: list[tuple[int, str]], start: int, pattern: str) -> int:
    regex = re.compile(pattern)
    for index in range(start, len(calls)):
        if regex.search(calls[index][1]):
            return index
    pytest.fail(f"no call matching {pattern!r} after #{start}:\n" + "\n".join(
        c for _, c in calls[start : start + 40]))  # fmt: skip


def test_syscalls_joins_a_call_another_thread_interrupted():
    # strace -f splits such a call in two and pads the resumed half's " = " to its column
    trace = "\n".join([
        '41 fsync(13</s/.partial/a.1> <unfinished ...>',
        '40 sendto(14<socket:[7]>, "Q", 1, MSG_NOSIGNAL, NULL, 0) = 1',
        '41 <... fsync resumed>)              = 0',
        '41 close(3)                                = 0',
    ])  # fmt: skip
    assert syscalls(trace) == [
        (40, 'sendto(14<socket:[7]>, "Q", 1, MSG_NOSIGNAL, NULL, 0) = 1'),
        (41, "fsync(13</s/.partial/a.1>) = 0"),
        (41, "close(3) = 0"),
    ]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_shows_the_durable_write_order(tmp_path, clean_db, servers):
    trace_path = tmp_path / "strace.txt"
    strace = ["strace", "-f", "-y", "-qq", "-s", "96", "-e", f"trace={TRACED}", "-o"]
    server = launch(tmp_path, clean_db, prefix=[*strace, str(trace_path)])
    master = child_pids(server.pid)[0]  # server.pid is strace's
    image_id = create(server)
    assert upload(server, image_id, DATA).status_code == 204
    os.kill(master, signal.SIGTERM)
    server.process.wait(timeout=20)
    calls = syscalls(trace_path.read_text(errors="replace"))

    store = re.escape(str(server.store_dir))
    partial = rf"{store}/\.partial/{image_id}\.[0-9a-f]+"
    opened = first(calls, 0, rf'openat\(.*"{partial}", O_WRONLY\|O_CREAT\|O_EXCL')
    tid = calls[opened][0]
    mine = [(i, c) for i, (t, c) in enumerate(calls) if t == tid and i >= opened]
    own = [c for _, c in mine]
    # every byte goes to the partial file (from the store's writer thread), then it is
    # fsynced, renamed, and the dir fsynced (by the request's thread)
    writes = [i for i, (_t, c) in enumerate(calls) if re.match(rf"write\(\d+<{partial}>", c)]
    synced_at = first(calls, opened, rf"^fsync\(\d+<{partial}>\) = 0")
    assert writes and max(writes) < synced_at
    assert sum(int(calls[i][1].rsplit("= ", 1)[1]) for i in writes) == len(DATA)
    synced = first([(tid, c) for c in own], 0, rf"^fsync\(\d+<{partial}>\) = 0")
    renamed = first([(tid, c) for c in own], 0, rf'^rename\("{partial}", "{store}/{image_id}"\)')
    dir_synced = first([(tid, c) for c in own], renamed, rf"^fsync\(\d+<{store}>\) = 0")
    assert synced < renamed < dir_synced
    # ... and only then the database commit that makes the image active
    # (SQLite: the WAL synced; a server: COMMIT sent), and then the response
    if dbs.KIND == "sqlite":
        commit = r"^(fsync|fdatasync)\(\d+<[^>]*\.sqlite-wal>\) = 0"
    else:
        commit = r'^(sendto|write)\(\d+<(socket|TCP|UNIX)[^>]*>, ".*COMMIT'
    committed = first([(tid, c) for c in own], dir_synced, commit)
    first([(tid, c) for c in own], committed, r'^sendto\(\d+<socket:[^>]*>, "HTTP/1.1 204 ')
    # never the Glance pattern: the final path opened for writing in place
    final_writes = [c for _, c in calls if re.search(rf'"{store}/{image_id}", O_WRONLY', c)]
    assert final_writes == []
