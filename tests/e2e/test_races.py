"""Races between requests on ``imgreg-api`` with 2 worker processes, released together by a
``threading.Barrier``. Two uploads to one image and a delete during an upload are covered by
``test_streaming.py`` and ``functional/test_upload_failures.py``; here: two creates of one id.
"""

from __future__ import annotations

import threading
import uuid

import requests

from tests.conftest import stored_files

ROUNDS = 50


def test_two_creates_with_one_id_have_exactly_one_winner(server):
    barrier = threading.Barrier(2)
    statuses: list[list[int]] = [[] for _ in range(ROUNDS)]

    def create(round_: int, image_id: str, session: requests.Session) -> None:
        barrier.wait(timeout=30)
        resp = session.post(
            f"{server.url}/v2/images",
            json={"id": image_id, "disk_format": "raw", "container_format": "bare"},
            timeout=30,
        )
        statuses[round_].append(resp.status_code)

    ids = [str(uuid.uuid4()) for _ in range(ROUNDS)]
    sessions = [requests.Session(), requests.Session()]  # kept alive: the bodies race, not TCP
    for round_, image_id in enumerate(ids):
        # the second one upper-case half the time: the same id all the same
        other = image_id.upper() if round_ % 2 else image_id
        threads = [
            threading.Thread(target=create, args=(round_, i, s))
            for i, s in zip((image_id, other), sessions, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert [sorted(s) for s in statuses] == [[201, 409]] * ROUNDS
    listed = requests.get(f"{server.url}/v2/images?limit=1000", timeout=30).json()["images"]
    assert sorted(i["id"] for i in listed) == sorted(ids)
    assert stored_files(server.store_dir) == []
