"""Races between requests on ``imgreg-api`` with 2 worker processes, released together by a
``threading.Barrier``. Two uploads to one image and a delete during an upload are covered by
``test_streaming.py`` and ``functional/test_upload_failures.py``; here: two creates of one id,
and requests that add, replace or remove the same property or tag of one image.
"""

from __future__ import annotations

import threading
import uuid

import requests

from tests.support.client import stored_files

ROUNDS = 50
# Rounds of each property/tag race: before the fix (plain INSERTs of what a PATCH added), 15 to 20
# of 20 rounds of each add race got a 500 here, on each of the three databases.
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


def add(name: str, value: object) -> Call:
    return ("PATCH", "", [{"op": "add", "path": f"/{name}", "value": value}])


def adding_one_new_property(server) -> list[str]:
    """Two PATCHes add the same new property: both 200, one of the values stays."""
    results = race_rounds(server, {"name": "add"}, [add("colour", "red"), add("colour", "blue")])
    wrong = []
    for image, got in results:
        if got != [200, 200] or image.get("colour") not in ("red", "blue"):
            wrong.append(f"{got}: {image.get('colour')}")
    return wrong


def adding_one_new_tag(server) -> list[str]:
    """The tag action twice and twice a PATCH of the whole list adding the same tags."""
    retag = ("PATCH", "", [{"op": "replace", "path": "/tags", "value": ["old", "mine", "shared"]}])
    calls: list[Call] = [("PUT", "/tags/shared", None), ("PUT", "/tags/shared", None), retag, retag]
    results = race_rounds(server, {"name": "tag", "tags": ["old"]}, calls)
    wrong = []
    for image, got in results:
        if got != [200, 200, 204, 204] or sorted(image["tags"]) != ["mine", "old", "shared"]:
            wrong.append(f"{got}: {image['tags']}")
    return wrong


def replacing_or_removing_one_property(server) -> list[str]:
    """Two PATCHes replace a property while a third removes it: a call that loaded the image
    after the remove finds nothing to change (409); the property ends replaced or gone."""
    replace = ("PATCH", "", [{"op": "replace", "path": "/colour", "value": "blue"}])
    remove = ("PATCH", "", [{"op": "remove", "path": "/colour"}])
    results = race_rounds(server, {"name": "rr", "colour": "red"}, [replace, replace, remove])
    wrong = []
    for image, got in results:
        statuses_ok = set(got) <= {200, 409} and 200 in got
        if not statuses_ok or image.get("colour", "gone") not in ("gone", "blue"):
            wrong.append(f"{got}: {image.get('colour')}")
    return wrong


def test_requests_on_one_property_or_tag_never_fail_and_the_last_writer_wins(server):
    """One server for the three races (starting one costs more than a race)."""
    races = (adding_one_new_property, adding_one_new_tag, replacing_or_removing_one_property)
    failed = {race.__name__: race(server) for race in races}
    assert {name: len(rounds) for name, rounds in failed.items()} == dict.fromkeys(failed, 0), (
        f"rounds of {PATCH_ROUNDS} that went wrong: {failed}"
    )
    assert "Traceback" not in server.log()
