"""The task chain (``imgreg.layers.tasks``), each layer over a recording inner repo
(glance-api.md §1.10, §4.2, §4.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.task import Task
from imgreg.domain.task_query import TaskQuery
from imgreg.layers.tasks.authorization import AuthorizationTaskRepo
from imgreg.layers.tasks.notifier import NotifierTaskRepo, task_payload
from imgreg.layers.tasks.policy import PolicyTaskRepo
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier
from tests.support.builders import OTHER_PROJECT, PROJECT, admin, make_conf, member
from tests.unit.layers.recording import Recorder

PAYLOAD_KEYS = {
    "id", "type", "status", "result", "owner", "message", "expires_at", "created_at",
    "updated_at", "deleted", "deleted_at",
}  # fmt: skip


class RecordingTaskRepo(Recorder):
    def get(self, task_id):
        return self._call("get", task_id)

    def list(self, query):
        return self._call("list", query, default=[])

    def list_for_image(self, image_id):
        return self._call("list_for_image", image_id, default=[])

    def add(self, task):
        return self._call("add", task, default=task)

    def save(self, task, from_status=None):
        return self._call("save", task, from_status=from_status, default=task)


def task(owner=PROJECT, **fields):
    return Task.new("import", owner, input={"import_from": "https://x/y"}, **fields)


def no_project() -> RequestContext:
    return RequestContext("req-x", project_id=None, roles=["member", "reader"])


# -- authorization ---------------------------------------------------------------------------


def test_a_project_sees_its_own_task():
    own = task()
    assert AuthorizationTaskRepo(RecordingTaskRepo(get=own), member()).get(own.id) is own


@pytest.mark.parametrize("owner", [OTHER_PROJECT, None])
def test_another_projects_or_an_ownerless_task_is_not_found(owner):
    other = task(owner)
    with pytest.raises(errors.NotFound):
        AuthorizationTaskRepo(RecordingTaskRepo(get=other), member()).get(other.id)


def test_a_caller_without_project_sees_no_ownerless_task():
    ownerless = task(None)
    with pytest.raises(errors.NotFound):
        AuthorizationTaskRepo(RecordingTaskRepo(get=ownerless), no_project()).get(ownerless.id)


def test_admin_sees_every_task():
    other = task(OTHER_PROJECT)
    assert AuthorizationTaskRepo(RecordingTaskRepo(get=other), admin()).get(other.id) is other


def test_list_is_narrowed_to_the_callers_project():
    inner = RecordingTaskRepo()
    AuthorizationTaskRepo(inner, member()).list(TaskQuery(owner=None, limit=5))
    assert inner.only("list").args[0].owner == PROJECT


def test_admin_lists_every_project():
    inner = RecordingTaskRepo()
    AuthorizationTaskRepo(inner, admin()).list(TaskQuery(owner=None, limit=5))
    assert inner.only("list").args[0].owner is None


def test_a_caller_without_project_lists_nothing():
    inner = RecordingTaskRepo()
    assert AuthorizationTaskRepo(inner, no_project()).list(TaskQuery(owner=None, limit=5)) == []
    assert inner.calls == []


def test_tasks_of_an_image_are_filtered_to_the_callers():
    mine, theirs, nobodys = task(), task(OTHER_PROJECT), task(None)
    inner = RecordingTaskRepo(list_for_image=[mine, theirs, nobodys])
    assert AuthorizationTaskRepo(inner, member()).list_for_image("i") == [mine]


@pytest.mark.parametrize("op", ["add", "save"])
def test_writing_another_projects_task_is_forbidden(op):
    inner = RecordingTaskRepo()
    with pytest.raises(errors.Forbidden):
        getattr(AuthorizationTaskRepo(inner, member()), op)(task(OTHER_PROJECT))
    assert inner.calls == []


# -- policy ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy():
    return Policy(make_conf())


CALLS = {
    "get": lambda repo: repo.get("x"),
    "list": lambda repo: repo.list(TaskQuery(owner=None, limit=1)),
    "add": lambda repo: repo.add(task()),
}


@pytest.mark.parametrize("op", CALLS)
def test_a_member_is_refused_tasks_api_access(policy, op):
    inner = RecordingTaskRepo(get=task())
    repo = PolicyTaskRepo(inner, member(), policy)
    with pytest.raises(errors.Forbidden, match="tasks_api_access"):
        CALLS[op](repo)
    assert inner.calls == []


def test_admin_passes_every_task_rule(policy):
    own = task("admin-project")
    inner = RecordingTaskRepo(get=own)
    repo = PolicyTaskRepo(inner, admin(), policy)
    assert repo.get(own.id) is own
    repo.list(TaskQuery(owner=None, limit=1))
    repo.add(own)
    assert inner.names() == ["get", "list", "add"]


def test_tasks_of_an_image_and_saves_are_not_the_tasks_apis(policy):
    inner = RecordingTaskRepo()
    repo = PolicyTaskRepo(inner, member(), policy)
    repo.list_for_image("i")
    repo.save(task(), from_status="pending")
    assert inner.names() == ["list_for_image", "save"]


def test_a_finer_rule_an_operator_tightened_is_enforced(tmp_path):
    rules = tmp_path / "policy.yaml"
    rules.write_text('"add_task": "role:nobody"\n')
    config = tmp_path / "imgreg.conf"
    config.write_text(f"[oslo_policy]\npolicy_file = {rules}\n")
    repo = PolicyTaskRepo(RecordingTaskRepo(), admin(), Policy(make_conf(config)))
    with pytest.raises(errors.Forbidden, match="add_task"):
        repo.add(task("admin-project"))


# -- notifier --------------------------------------------------------------------------------


@pytest.fixture
def notifier():
    return Notifier(make_conf(oslo_messaging_notifications__driver=["memory"]))


def test_add_sends_task_create_without_input(notifier):
    new = task(user_id="u", request_id="r")
    NotifierTaskRepo(RecordingTaskRepo(), member(), notifier).add(new)
    (sent,) = notifier.sent
    assert sent["event_type"] == "task.create"
    payload = sent["payload"]
    assert set(payload) == PAYLOAD_KEYS
    assert payload["id"] == new.id
    assert (payload["status"], payload["owner"], payload["type"]) == ("pending", PROJECT, "import")
    assert (payload["result"], payload["message"], payload["expires_at"]) == (None, None, None)
    assert (payload["deleted"], payload["deleted_at"]) == (False, None)


@pytest.mark.parametrize(
    ("moves", "event"),
    [
        (["begin_processing"], "task.processing"),
        (["begin_processing", "succeed"], "task.success"),
        (["fail"], "task.failure"),
    ],
)
def test_a_save_that_moved_the_status_says_where(notifier, moves, event):
    t = task()
    for move in moves[:-1]:
        getattr(t, move)()
    before = t.status
    last = moves[-1]
    if last == "fail":
        t.fail("broken")
    else:
        getattr(t, last)()
    t.ended(dt.timedelta(hours=1))
    NotifierTaskRepo(RecordingTaskRepo(), member(), notifier).save(t, from_status=before)
    (sent,) = notifier.sent
    assert sent["event_type"] == event
    assert sent["payload"]["message"] is None  # Glance never sends it
    assert sent["payload"]["expires_at"].endswith("Z")


def test_a_save_without_status_change_sends_nothing(notifier):
    NotifierTaskRepo(RecordingTaskRepo(), member(), notifier).save(task())
    assert notifier.sent == []


def test_a_failed_add_sends_nothing(notifier):
    inner = RecordingTaskRepo(add=errors.Forbidden("no"))
    with pytest.raises(errors.Forbidden):
        NotifierTaskRepo(inner, member(), notifier).add(task())
    assert notifier.sent == []


def test_payload_never_holds_input_or_result():
    t = task()
    t.begin_processing()
    t.succeed({"image_id": "secret"}, "done")
    payload = task_payload(t)
    assert "input" not in payload
    assert (payload["result"], payload["message"]) == (None, None)
