"""The tasks API through the whole app (glance-api.md §1.10, and ``/v2/images/{id}/tasks`` of
§1.3): access, create, list and paging, hostile bodies and queries, expiry, notifications.

Personas: ``admin`` (project pa, admin role), ``member`` (p1, member role), ``stranger`` (p2).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid

import jsonschema
import pytest

from imgreg.db.tasks import SqlTaskRepo
from imgreg.domain.task import Task, now
from imgreg.maintenance import recovery
from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, client_with
from tests.support.webserver import serving

VALID = {
    "type": "import",
    "input": {
        "import_from": "http://127.0.0.1:9/cirros.qcow2",  # the test's server (_web)
        "import_from_format": "qcow2",
        "image_properties": {"name": "cirros", "disk_format": "qcow2"},
    },
}
VIEW_KEYS = {
    "id", "type", "status", "input", "result", "owner", "message", "created_at", "updated_at",
    "self", "schema", "request_id", "user_id",
}  # fmt: skip
STUB_KEYS = {"id", "type", "status", "owner", "created_at", "updated_at", "self", "schema"}
ROW_KEYS = {
    "id", "type", "status", "owner", "expires_at", "created_at", "updated_at", "deleted_at",
    "deleted", "image_id", "request_id", "user_id", "input", "result", "message",
}  # fmt: skip
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
RAW = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"


@pytest.fixture(autouse=True)
def _web(conf):
    """The legacy import fetches from a local server, which answers 404: each task fails,
    asynchronously, with a message naming the status."""
    with serving() as web:
        group = "import_filtering_opts"
        conf.set_override("allow_private_addresses", True, group=group)
        conf.set_override("allowed_hosts", ["127.0.0.1"], group=group)
        conf.set_override("allowed_ports", [str(web.port)], group=group)
        VALID["input"]["import_from"] = web.url("/cirros.qcow2")
        yield web


def ended(client, task_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/v2/tasks/{task_id}").json
        if task["status"] in ("success", "failure") or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


@pytest.fixture
def admin(api):
    return api.as_("pa", roles="admin,member,reader")


@pytest.fixture
def member(api):
    return api.as_("p1")


@pytest.fixture
def stranger(api):
    return api.as_("p2")


def create(client, body=VALID):
    resp = client.post("/v2/tasks", body)
    assert resp.status_int == 201, resp.text
    return resp


def repo():
    return SqlTaskRepo(wiring.services().db, dt.timedelta(hours=48))


def record(image_id, owner, **fields):
    """A task of the import flow, recorded under the chain (as an import would)."""
    task = Task.new("api_image_import", owner, input={"image_id": image_id}, image_id=image_id)
    for key, value in fields.items():
        setattr(task, key, value)
    return repo().add(task)


# -- access ----------------------------------------------------------------------------------


def test_a_member_gets_403_on_every_tasks_call(admin, member):
    task_id = create(admin).json["id"]
    for method, path, body in [
        ("POST", "/v2/tasks", VALID),
        ("POST", "/v2/tasks", {"type": "nonsense"}),  # refused before the body is read
        ("GET", "/v2/tasks", None),
        ("GET", "/v2/tasks?sort_key=bogus", None),
        ("GET", f"/v2/tasks/{task_id}", None),
        ("GET", f"/v2/tasks/{UNKNOWN_ID}", None),
        ("DELETE", f"/v2/tasks/{task_id}", None),
    ]:
        resp = member.request(method, path, body=body)
        assert resp.status_int == 403, (method, path, resp.text)


def test_admin_creates_then_shows_a_task(admin, notifications):
    resp = create(admin)
    task = resp.json
    assert resp.headers["Location"] == f"http://localhost/v2/tasks/{task['id']}"
    assert set(task) == VIEW_KEYS
    assert (task["type"], task["status"], task["owner"]) == ("import", "pending", "pa")
    assert (task["input"], task["result"], task["message"]) == (VALID["input"], None, "")
    assert task["self"] == f"/v2/tasks/{task['id']}"
    assert task["schema"] == "/v2/schemas/task"
    assert re.match(ISO, task["created_at"]) and re.match(ISO, task["updated_at"])
    shown = ended(admin, task["id"])
    deadline = time.monotonic() + 10  # the notifier sends once the save is done
    while not any(n["event_type"] == "task.failure" for n in notifications):
        assert time.monotonic() < deadline, notifications
        time.sleep(0.05)
    # the server answered 404: the task failed, says why, and expires
    assert shown["status"] == "failure"
    assert "404" in shown["message"]
    assert re.match(ISO, shown["expires_at"])
    events = [n for n in notifications if n["event_type"].startswith("task.")]
    assert [n["event_type"] for n in events] == ["task.create", "task.processing", "task.failure"]
    assert [n["payload"]["status"] for n in events] == ["pending", "processing", "failure"]
    assert all("input" not in n["payload"] for n in events)


def test_unknown_tasks_are_404(admin):
    for task_id in (UNKNOWN_ID, "not-a-uuid", "%00", "x" * 300):
        assert admin.get(f"/v2/tasks/{task_id}").status_int == 404


def test_delete_is_405_with_glances_message(admin):
    task_id = create(admin).json["id"]
    resp = admin.delete(f"/v2/tasks/{task_id}", headers={"Accept": "application/json"})
    assert resp.status_int == 405
    assert resp.headers["Allow"] == "GET"
    assert "auto deleted after reaching the time based on their expires_at" in resp.json["message"]
    assert admin.get(f"/v2/tasks/{task_id}").status_int == 200


def test_other_methods_are_405(admin):
    assert admin.request("PUT", "/v2/tasks").status_int == 405
    assert admin.request("PATCH", f"/v2/tasks/{UNKNOWN_ID}").status_int == 405


# -- list ------------------------------------------------------------------------------------


def test_list_newest_first_with_glances_links(admin):
    ids = [ended(admin, create(admin).json["id"])["id"] for _ in range(3)]
    body = admin.get("/v2/tasks").json
    assert set(body) == {"tasks", "first", "schema"}
    assert [t["id"] for t in body["tasks"]] == ids[::-1]
    assert all(set(t) == STUB_KEYS | {"expires_at"} for t in body["tasks"])
    assert (body["first"], body["schema"]) == ("/v2/tasks", "/v2/schemas/tasks")


def test_paging_with_marker(admin):
    ids = [create(admin).json["id"] for _ in range(5)][::-1]
    seen, path = [], "/v2/tasks?limit=2&sort_dir=desc"
    while path:
        body = admin.get(path).json
        assert body["first"] == "/v2/tasks?limit=2&sort_dir=desc"
        seen += [t["id"] for t in body["tasks"]]
        path = body.get("next")
    assert seen == ids
    asc = admin.get("/v2/tasks?sort_key=id&sort_dir=asc").json["tasks"]
    assert [t["id"] for t in asc] == sorted(ids)


def test_filters(admin):
    ended(admin, create(admin).json["id"])
    failed = admin.get("/v2/tasks?status=failure&type=import").json["tasks"]
    assert len(failed) == 1
    assert admin.get("/v2/tasks?status=pending").json["tasks"] == []
    assert len(admin.get("/v2/tasks?status=").json["tasks"]) == 1  # empty: no filter


def test_limit_zero_lists_nothing(admin):
    create(admin)
    assert admin.get("/v2/tasks?limit=0").json["tasks"] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("marker=not-a-uuid", "Invalid marker format"),
        (f"marker={UNKNOWN_ID}", "marker"),
        ("sort_key=input", "Invalid sort key"),
        ("sort_key=%00", "Invalid sort key"),
        ("sort_dir=up", "Invalid sort direction"),
        ("status=deleted", "Invalid status value"),
        ("status=" + "x" * 5000, "Invalid status value"),
        ("type=api_image_import", "Invalid type value"),
        ("limit=-1", "limit param must be positive"),
        ("limit=many", "limit param must be an integer"),
    ],
)
def test_bad_list_queries_are_400(admin, query, fragment):
    resp = admin.get(f"/v2/tasks?{query}", headers={"Accept": "application/json"})
    assert resp.status_int == 400, resp.text
    assert fragment in resp.json["message"]


def test_a_marker_of_a_task_that_expired_is_400(admin):
    task_id = ended(admin, create(admin).json["id"])["id"]
    repo().delete_expired(now() + dt.timedelta(hours=49))
    assert admin.get(f"/v2/tasks?marker={task_id}").status_int == 400


def test_a_project_sees_only_its_tasks_when_policy_lets_it_in(conf, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"tasks_api_access": "role:member"\n')
    api = client_with(conf, **{"oslo_policy.policy_file": str(path)})
    member, admin = api.as_("p1"), api.as_("pa", roles="admin,member,reader")
    mine = record(str(uuid.uuid4()), "p1")
    theirs = record(str(uuid.uuid4()), "p2")
    assert [t["id"] for t in member.get("/v2/tasks").json["tasks"]] == [mine.id]
    assert member.get(f"/v2/tasks/{mine.id}").status_int == 200
    assert member.get(f"/v2/tasks/{theirs.id}").status_int == 404
    assert member.get(f"/v2/tasks?marker={theirs.id}").status_int == 400
    assert len(admin.get("/v2/tasks").json["tasks"]) == 2


# -- hostile bodies --------------------------------------------------------------------------


def _input(**changes):
    body = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is None:
            del body["input"][key]
        else:
            body["input"][key] = value
    return body


HOSTILE = {
    "empty": b"",
    "not json": b"{",
    "list": b"[1]",
    "string": b'"type"',
    "number": b"5",
    "null": b"null",
    "no type": json.dumps({"input": VALID["input"]}).encode(),
    "no input": json.dumps({"type": "import"}).encode(),
    "unknown type": json.dumps({**VALID, "type": "export"}).encode(),
    "type not string": json.dumps({**VALID, "type": ["import"]}).encode(),
    "api_image_import": json.dumps({**VALID, "type": "api_image_import"}).encode(),
    "location_import": json.dumps({**VALID, "type": "location_import"}).encode(),
    "input list": json.dumps({**VALID, "input": ["import_from"]}).encode(),
    "input string": json.dumps({**VALID, "input": "x" * 10000}).encode(),
    "input null": json.dumps({**VALID, "input": None}).encode(),
    "extra key": json.dumps({**VALID, "surprise": 1}).encode(),
    "status given": json.dumps({**VALID, "status": "done"}).encode(),
    "no import_from": json.dumps(_input(import_from=None)).encode(),
    "no format": json.dumps(_input(import_from_format=None)).encode(),
    "no properties": json.dumps(_input(image_properties=None)).encode(),
    "file source": json.dumps(_input(import_from="file:///etc/passwd")).encode(),
    "filesystem source": json.dumps(_input(import_from="filesystem:///etc/passwd")).encode(),
    "ftp source": json.dumps(_input(import_from="ftp://example.com/x")).encode(),
    "empty source": json.dumps(_input(import_from="")).encode(),
    "source not string": json.dumps(_input(import_from={"url": "http://x"})).encode(),
    "properties not object": json.dumps(_input(image_properties="name=x")).encode(),
    "bad image_id": json.dumps(_input(image_id="x" * 100)).encode(),
    "image_id not string": json.dumps(_input(image_id=5)).encode(),
    "NUL": json.dumps(_input(import_from="https://x/\x00")).encode(),
    "lone surrogate": b'{"type": "import", "input": {"import_from": "https://x/\\ud800"}}',
    "deep": b'{"type": "import", "input": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_bodies_are_refused_and_record_nothing(admin, name):
    resp = admin.request(
        "POST",
        "/v2/tasks",
        raw=HOSTILE[name],
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert 400 <= resp.status_int < 500, (name, resp.status_int, resp.text)
    assert len(resp.body) < 2000
    assert admin.get("/v2/tasks").json["tasks"] == []


def test_a_body_over_the_limit_is_413(admin):
    body = _input(image_properties={"blob": "x" * (2 * 1024 * 1024)})
    assert admin.post("/v2/tasks", body).status_int == 413


def test_a_large_input_within_the_limit_round_trips(admin):
    body = _input(image_properties={"blob": "\u00e9" * 100_000})
    task = create(admin, body).json
    assert admin.get(f"/v2/tasks/{task['id']}").json["input"] == body["input"]


# -- /v2/images/{id}/tasks -------------------------------------------------------------------


def test_a_visible_image_without_tasks(member):
    image = member.create(name="x")
    assert member.get(f"/v2/images/{image['id']}/tasks").json == {"tasks": []}


def test_an_invisible_or_unknown_image_is_404(member, stranger):
    image = member.create(name="x", visibility="private")
    for path in (image["id"], UNKNOWN_ID, "nope"):
        assert stranger.get(f"/v2/images/{path}/tasks").status_int == 404


def test_the_tasks_of_an_image_are_glances_raw_rows(member, stranger):
    image = member.create(name="x")
    task = record(image["id"], "p1", user_id="u1", request_id="req-1")
    record(image["id"], "p2")  # another project's task on the same image: not shown
    record(str(uuid.uuid4()), "p1")  # another image's
    (row,) = member.get(f"/v2/images/{image['id']}/tasks").json["tasks"]
    assert set(row) == ROW_KEYS
    assert (row["id"], row["type"], row["status"]) == (task.id, "api_image_import", "pending")
    assert (row["image_id"], row["user_id"], row["request_id"]) == (image["id"], "u1", "req-1")
    assert (row["deleted"], row["deleted_at"], row["expires_at"]) == (False, None, None)
    assert row["input"] == {"image_id": image["id"]}
    assert re.match(RAW, row["created_at"]) and re.match(RAW, row["updated_at"])
    assert row["created_at"] == task.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def test_image_tasks_refuse_a_body(member):
    image = member.create(name="x")
    path = f"/v2/images/{image['id']}/tasks"
    assert member.request("GET", path, raw=b"{}").status_int == 400
    assert member.post(path, {}).status_int == 405


# -- expiry ----------------------------------------------------------------------------------


def test_the_reaper_deletes_an_old_ended_task_and_keeps_a_fresh_one(admin):
    # both imports fail (their fetch finds nothing); each is waited for: the second one's end
    # says nothing of the first's, whose flow may still be running on another thread
    old = ended(admin, create(admin).json["id"])["id"]
    fresh_task = record(str(uuid.uuid4()), "pa")
    running = ended(admin, create(admin).json["id"])["id"]
    tasks = repo()
    for task_id in (old, running):
        t = tasks.get(task_id)
        assert t.expires_at is not None
    t = tasks.get(old)
    t.expires_at = now() - dt.timedelta(seconds=1)
    tasks.save(t)
    reaped = recovery.reap(wiring.services())
    assert reaped.tasks == 1
    assert "1 expired task(s) deleted" in str(reaped)
    assert admin.get(f"/v2/tasks/{old}").status_int == 404
    assert admin.get(f"/v2/tasks/{running}").status_int == 200
    assert admin.get(f"/v2/tasks/{fresh_task.id}").status_int == 200


# -- schemas ---------------------------------------------------------------------------------


def test_task_schemas_are_glances(api, admin):
    task = api.get("/v2/schemas/task").json
    assert task["name"] == "task"
    assert set(task) == {"name", "properties"}
    assert set(task["properties"]) == VIEW_KEYS | {"image_id", "expires_at"}
    assert task["properties"]["type"]["enum"] == ["import", "api_image_import", "location_import"]
    tasks = api.get("/v2/schemas/tasks").json
    assert tasks["links"] == [{"rel": "describedby", "href": "{schema}"}]
    items = tasks["properties"]["tasks"]["items"]
    assert set(items["properties"]) == set(task["properties"]) - {"input", "result", "message"}
    created = create(admin).json
    jsonschema.validate(created, task)
    jsonschema.validate(admin.get("/v2/tasks").json, tasks)
