"""Races between requests on ``imgreg-api`` with 2 worker processes, released together by a
``threading.Barrier``. Two uploads to one image and a delete during an upload are covered by
``test_streaming.py`` and ``functional/test_upload_failures.py``; here: two creates of one id,
and requests that add, replace or remove the same property or tag of one image.
"""

from __future__ import annotations

import threading
import uuid

import requests

from tests.conftest import stored_files

ROUNDS = 50
# Rounds of each property/tag race: before the fix, 30 to 50 of 50 rounds of the add races got a
# 500 here, on each database.
PATCH_ROUNDS = 20


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


PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
Call = tuple[str, str, object]  # method, path under /v2/images/{id}, JSON body


def race_once(sessions: list[requests.Session], url: str, calls: list[Call]) -> list[int]:
    """Send ``calls`` to the image at ``url``, one thread each, all released at once; the
    statuses they got, sorted."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []

    def send(session: requests.Session, method: str, path: str, body: object) -> None:
        barrier.wait(timeout=30)
        headers = PATCH if method == "PATCH" else {}
        resp = session.request(method, url + path, json=body, headers=headers, timeout=30)
        statuses.append(resp.status_code)

    threads = [
        threading.Thread(target=send, args=(session, *call))
        for session, call in zip(sessions, calls, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


def race_rounds(server, image: dict, calls: list[Call]) -> list[tuple[dict, list[int]]]:
    """PATCH_ROUNDS times: create an image from ``image`` and race ``calls`` on it; each image as
    shown afterwards, with the statuses its calls got."""
    sessions = [requests.Session() for _ in calls]  # kept alive: the requests race, not TCP
    results: list[tuple[dict, list[int]]] = []
    for _ in range(PATCH_ROUNDS):
        body = {"disk_format": "raw", "container_format": "bare", **image}
        created = sessions[0].post(f"{server.url}/v2/images", json=body, timeout=30)
        assert created.status_code == 201, created.text
        url = f"{server.url}/v2/images/{created.json()['id']}"
        statuses = race_once(sessions, url, calls)
        results.append((sessions[0].get(url, timeout=30).json(), statuses))
    return results


def rounds_other_than(results: list[tuple[dict, list[int]]], statuses: list[int]) -> list:
    return [got for _image, got in results if got != statuses]


def add(name: str, value: object) -> Call:
    return ("PATCH", "", [{"op": "add", "path": f"/{name}", "value": value}])


def test_two_patches_adding_one_new_property_both_succeed_and_one_value_stays(server):
    results = race_rounds(server, {"name": "add"}, [add("colour", "red"), add("colour", "blue")])
    failed = rounds_other_than(results, [200, 200])
    assert failed == [], f"{len(failed)} of {PATCH_ROUNDS} rounds"
    assert {image["colour"] for image, _statuses in results} <= {"red", "blue"}
    assert "Traceback" not in server.log()


def test_two_requests_adding_one_new_tag_both_succeed_and_it_is_there_once(server):
    # the tag action, and a PATCH of the whole list that adds the same tag
    retag = ("PATCH", "", [{"op": "replace", "path": "/tags", "value": ["old", "mine", "shared"]}])
    calls: list[Call] = [("PUT", "/tags/shared", None), ("PUT", "/tags/shared", None), retag, retag]
    results = race_rounds(server, {"name": "tag", "tags": ["old"]}, calls)
    failed = rounds_other_than(results, [200, 200, 204, 204])
    assert failed == [], f"{len(failed)} of {PATCH_ROUNDS} rounds"
    assert all(sorted(image["tags"]) == ["mine", "old", "shared"] for image, _s in results)
    assert "Traceback" not in server.log()


def test_two_patches_replacing_or_removing_one_property_never_fail(server):
    replace = ("PATCH", "", [{"op": "replace", "path": "/colour", "value": "blue"}])
    remove = ("PATCH", "", [{"op": "remove", "path": "/colour"}])
    results = race_rounds(server, {"name": "rr", "colour": "red"}, [replace, replace, remove])
    # a call that loaded the image after the remove finds no colour to change: 409
    failed = [got for _image, got in results if not (set(got) <= {200, 409} and 200 in got)]
    assert failed == [], f"{len(failed)} of {PATCH_ROUNDS} rounds"
    assert {image.get("colour", "gone") for image, _got in results} <= {"gone", "blue"}
    assert "Traceback" not in server.log()
