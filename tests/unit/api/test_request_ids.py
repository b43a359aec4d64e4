"""``imgreg.api.request_ids``: Glance's ``req-<uuid4>`` ids from pooled randomness, unique
across threads and forked processes."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

from imgreg.api import request_ids


def test_an_id_is_req_and_a_version_4_uuid() -> None:
    for _ in range(600):  # across pool refills
        rid = request_ids.new()
        assert rid.startswith("req-")
        parsed = uuid.UUID(rid[4:])
        assert str(parsed) == rid[4:]
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_one_random_read_per_pool_of_ids(monkeypatch: Any) -> None:
    reads: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        reads.append(n)
        return real(n)

    monkeypatch.setattr(request_ids, "_local", threading.local())
    monkeypatch.setattr(os, "urandom", counting)
    ids = {request_ids.new() for _ in range(512)}
    assert len(ids) == 512
    assert reads == [request_ids.POOL_BYTES] * 2


def test_threads_never_share_ids() -> None:
    found: list[list[str]] = []

    def take() -> None:
        found.append([request_ids.new() for _ in range(300)])

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [rid for ids in found for rid in ids]
    assert len(every) == len(set(every)) == 2400


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    request_ids.new()  # the pool holds ids the parent has not handed out yet
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without pytest's clean-up
        try:
            os.write(write_end, request_ids.new().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = request_ids.new()
    assert child.startswith("req-")
    assert child != parent
