"""The member chain (``imgreg.layers.members``), each layer over a recording inner repo, plus
the ``Member`` domain object it carries (glance-api.md §2.9, §4.2, §4.3)."""

from __future__ import annotations

import pytest

from imgreg.domain import errors
from imgreg.domain.member import Member
from imgreg.layers import build_member_repo
from imgreg.layers.members.authorization import AuthorizationMemberRepo
from imgreg.layers.members.notifier import NotifierMemberRepo
from imgreg.layers.members.policy import PolicyMemberRepo
from imgreg.layers.members.quota import QuotaMemberRepo
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier
from tests.support.builders import (
    OTHER_PROJECT,
    PROJECT,
    admin,
    make_conf,
    make_image,
    member,
    reader,
)
from tests.unit.layers.recording import Recorder

THIRD_PROJECT = "project-c"
OPERATIONS = ("get", "list", "add", "save", "remove")


class RecordingMemberRepo(Recorder):
    """Stands in for ``SqlMemberRepo`` (or any inner member layer)."""

    def get(self, member_id):
        return self._call("get", member_id)

    def list(self):
        return self._call("list", default=[])

    def count(self):
        return self._call("count", default=0)

    def add(self, member):
        return self._call("add", member, default=member)

    def save(self, member):
        return self._call("save", member, default=member)

    def remove(self, member):
        return self._call("remove", member)


def shared_image(**fields):
    fields.setdefault("visibility", "shared")
    return make_image(**fields)


def row(member_id=OTHER_PROJECT, image=None, status="pending"):
    return Member(image_id=image.id if image else "i", member_id=member_id, status=status)


def call(repo, op, member_obj):
    """Run ``op`` on ``repo`` with the arguments it takes."""
    if op == "get":
        return repo.get(member_obj.member_id)
    if op == "list":
        return repo.list()
    return getattr(repo, op)(member_obj)


# -- the domain object -----------------------------------------------------------------------


def test_new_member_is_pending():
    m = Member.new("img", "p2")
    assert (m.image_id, m.member_id, m.status) == ("img", "p2", "pending")
    assert m.created_at == m.updated_at


@pytest.mark.parametrize("value", ["", None, 5, ["p2"], "x" * 256])
def test_new_member_needs_a_project_id_that_fits(value):
    with pytest.raises(errors.Invalid):
        Member.new("img", value)


def test_new_member_accepts_255_characters():
    assert Member.new("img", "x" * 255).member_id == "x" * 255


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected"])
def test_change_status_to_each_known_status(status):
    m = Member.new("img", "p2")
    m.change_status(status)
    assert m.status == status


@pytest.mark.parametrize("status", ["ACCEPTED", "deleted", "", None, 1, ["accepted"]])
def test_change_status_refuses_anything_else(status):
    m = Member.new("img", "p2")
    with pytest.raises(errors.Invalid, match="pending"):
        m.change_status(status)
    assert m.status == "pending"


# -- authorization ---------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
@pytest.mark.parametrize("op", OPERATIONS)
def test_only_shared_images_have_members(visibility, op):
    image = make_image(visibility=visibility)
    inner = RecordingMemberRepo(get=row(image=image))
    repo = AuthorizationMemberRepo(inner, admin(), image)
    with pytest.raises(errors.Forbidden, match=r"Only shared images have members\."):
        call(repo, op, row(image=image))
    assert inner.calls == []


@pytest.mark.parametrize("ctx", [member(PROJECT), admin()], ids=["owner", "admin"])
def test_owner_and_admin_see_every_row(ctx):
    image = shared_image()
    rows = [row("p2", image), row("p3", image)]
    inner = RecordingMemberRepo(list=rows, get=rows[1])
    repo = AuthorizationMemberRepo(inner, ctx, image)
    assert repo.list() == rows
    assert repo.get("p3") is rows[1]


def test_a_member_sees_only_its_own_row():
    image = shared_image()
    mine, theirs = row(OTHER_PROJECT, image), row(THIRD_PROJECT, image)
    inner = RecordingMemberRepo(list=[mine, theirs], get=lambda member_id: {
        OTHER_PROJECT: mine, THIRD_PROJECT: theirs}[member_id])  # fmt: skip
    repo = AuthorizationMemberRepo(inner, member(OTHER_PROJECT), image)
    assert repo.list() == [mine]
    assert repo.get(OTHER_PROJECT) is mine
    with pytest.raises(errors.NotFound, match="not found in the member list"):
        repo.get(THIRD_PROJECT)


@pytest.mark.parametrize(
    ("ctx", "allowed"),
    [(member(PROJECT), True), (admin(), True), (member(OTHER_PROJECT), False)],
    ids=["owner", "admin", "member"],
)
@pytest.mark.parametrize("op", ["add", "remove"])
def test_only_the_owner_or_an_admin_adds_and_removes(ctx, allowed, op):
    image = shared_image()
    inner = RecordingMemberRepo()
    repo = AuthorizationMemberRepo(inner, ctx, image)
    target = row(OTHER_PROJECT, image)
    if allowed:
        call(repo, op, target)
        assert inner.only(op).args == (target,)
    else:
        with pytest.raises(errors.Forbidden):
            call(repo, op, target)
        assert inner.calls == []


@pytest.mark.parametrize(
    ("ctx", "allowed"),
    [(member(OTHER_PROJECT), True), (admin(), True), (member(PROJECT), False),
     (member(THIRD_PROJECT), False)],
    ids=["the-member", "admin", "owner", "another-member"],
)  # fmt: skip
def test_only_the_member_or_an_admin_changes_the_status(ctx, allowed):
    image = shared_image()
    inner = RecordingMemberRepo()
    repo = AuthorizationMemberRepo(inner, ctx, image)
    target = row(OTHER_PROJECT, image, status="accepted")
    if allowed:
        assert repo.save(target) is target
        assert inner.only("save").args == (target,)
    else:
        with pytest.raises(errors.Forbidden, match="modify 'status'"):
            repo.save(target)
        assert inner.calls == []


def test_an_image_without_owner_has_no_owner_to_act_for_it():
    image = shared_image(owner=None)
    repo = AuthorizationMemberRepo(RecordingMemberRepo(), member(PROJECT), image)
    with pytest.raises(errors.Forbidden):
        repo.add(row(OTHER_PROJECT, image))


# -- notifier --------------------------------------------------------------------------------

PAYLOAD = {"image_id", "member_id", "status", "created_at", "updated_at", "deleted", "deleted_at"}


def notifier():
    return Notifier(make_conf(oslo_messaging_notifications__driver=["memory"]))


@pytest.mark.parametrize(
    ("op", "event"),
    [("add", "image.member.create"), ("save", "image.member.update")],
)
def test_add_and_save_notify_after_the_inner_call(op, event):
    n = notifier()
    image = shared_image()
    seen = []
    inner = RecordingMemberRepo(**{op: lambda m: (seen.append(list(n.sent)), m)[1]})
    target = row(OTHER_PROJECT, image, status="accepted")
    assert getattr(NotifierMemberRepo(inner, member(), image, n), op)(target) is target
    assert seen == [[]]
    assert [(m["event_type"], m["priority"]) for m in n.sent] == [(event, "INFO")]
    payload = n.sent[0]["payload"]
    assert set(payload) == PAYLOAD
    assert payload == {
        "image_id": image.id,
        "member_id": OTHER_PROJECT,
        "status": "accepted",
        "created_at": target.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": target.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deleted": False,
        "deleted_at": None,
    }


def test_remove_notifies_delete_with_deleted_fields():
    n = notifier()
    image = shared_image()
    inner = RecordingMemberRepo()
    target = row(OTHER_PROJECT, image)
    NotifierMemberRepo(inner, member(), image, n).remove(target)
    assert inner.only("remove").args == (target,)
    (message,) = n.sent
    assert message["event_type"] == "image.member.delete"
    assert message["payload"]["deleted"] is True
    assert message["payload"]["deleted_at"].endswith("Z")
    assert message["payload"]["member_id"] == OTHER_PROJECT


@pytest.mark.parametrize("op", ["add", "save", "remove"])
def test_a_failed_operation_sends_nothing(op):
    n = notifier()
    image = shared_image()
    inner = RecordingMemberRepo(**{op: errors.Conflict("no")})
    with pytest.raises(errors.Conflict):
        call(NotifierMemberRepo(inner, member(), image, n), op, row(image=image))
    assert n.sent == []


def test_reads_send_nothing():
    n = notifier()
    image = shared_image()
    repo = NotifierMemberRepo(RecordingMemberRepo(get=row(image=image)), member(), image, n)
    repo.get(OTHER_PROJECT)
    repo.list()
    assert n.sent == []


# -- policy ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy():
    return Policy(make_conf())


PERSONAS = {
    "owner-member": lambda: member(PROJECT),
    "owner-reader": lambda: reader(PROJECT),
    "admin": admin,
    "image-member": lambda: member(OTHER_PROJECT),
    "image-member-reader": lambda: reader(OTHER_PROJECT),
    "stranger": lambda: member(THIRD_PROJECT),
}
# operation -> (rule, who may)
RULES = {
    "add": ("add_member", {"owner-member", "admin"}),
    "get": ("get_member", {"owner-member", "owner-reader", "admin", "image-member",
                           "image-member-reader"}),
    "list": ("get_members", {"owner-member", "owner-reader", "admin", "image-member",
                             "image-member-reader"}),
    "save": ("modify_member", {"admin", "image-member"}),
    "remove": ("delete_member", {"owner-member", "admin"}),
}  # fmt: skip


def memberships(image, *projects):
    """An inner ``get`` that knows the rows of ``projects`` and nothing else."""

    def get(member_id):
        if member_id in projects:
            return row(member_id, image)
        raise errors.NotFound(f"{member_id} not found")

    return get


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("op", RULES)
def test_member_rules_with_secure_rbac_defaults(policy, op, persona):
    rule, allowed = RULES[op]
    image = shared_image()
    inner = RecordingMemberRepo(get=memberships(image, OTHER_PROJECT))
    repo = PolicyMemberRepo(inner, PERSONAS[persona](), image, policy)
    target = row(OTHER_PROJECT, image)
    if persona in allowed:
        call(repo, op, target)
        assert op in inner.names()
    else:
        with pytest.raises(errors.Forbidden, match=rule):
            call(repo, op, target)
        assert op == "get" or op not in inner.names()


def test_policy_target_names_the_caller_only_when_it_is_a_member(policy):
    image = shared_image()
    inner = RecordingMemberRepo(get=memberships(image))  # no rows at all
    repo = PolicyMemberRepo(inner, member(OTHER_PROJECT), image, policy)
    with pytest.raises(errors.Forbidden, match="get_members"):
        repo.list()
    assert [c.args for c in inner.calls] == [(OTHER_PROJECT,)]


def test_policy_does_not_look_up_the_owner_as_a_member(policy):
    image = shared_image()
    inner = RecordingMemberRepo(list=[])
    PolicyMemberRepo(inner, member(PROJECT), image, policy).list()
    assert inner.names() == ["list"]


def test_policy_overrides_apply(tmp_path):
    rules = tmp_path / "policy.yaml"
    rules.write_text('"add_member": "!"\n')
    config = tmp_path / "imgreg.conf"
    config.write_text(f"[oslo_policy]\npolicy_file = {rules}\n")
    image = shared_image()
    inner = RecordingMemberRepo(get=memberships(image))
    repo = PolicyMemberRepo(inner, admin(), image, Policy(make_conf(config)))
    with pytest.raises(errors.Forbidden, match="add_member"):
        repo.add(row(image=image))


# -- quota -----------------------------------------------------------------------------------


def quota_repo(inner, limit):
    return QuotaMemberRepo(inner, member(), shared_image(), make_conf(image_member_quota=limit))


def test_add_below_the_quota_passes():
    inner = RecordingMemberRepo(count=1)
    target = row()
    assert quota_repo(inner, 2).add(target) is target
    assert inner.names() == ["count", "add"]


@pytest.mark.parametrize(("limit", "count"), [(2, 2), (0, 0), (1, 5)])
def test_add_over_the_quota_is_refused(limit, count):
    inner = RecordingMemberRepo(count=count)
    with pytest.raises(errors.QuotaExceeded, match=f"Attempted: {count + 1}, Maximum: {limit}"):
        quota_repo(inner, limit).add(row())
    assert inner.names() == ["count"]


def test_a_negative_quota_is_no_limit():
    inner = RecordingMemberRepo(count=10_000)
    quota_repo(inner, -1).add(row())
    assert inner.names() == ["add"]


@pytest.mark.parametrize("op", ["get", "list", "save", "remove"])
def test_quota_passes_everything_else_through(op):
    inner = RecordingMemberRepo(get=row())
    call(quota_repo(inner, 0), op, row())
    assert inner.names() == [op]


# -- the chain -------------------------------------------------------------------------------


class FakeServices:
    def __init__(self, policy):
        self.conf = make_conf(oslo_messaging_notifications__driver=["memory"])
        self.policy = policy
        self.notifier = Notifier(self.conf)
        self.db = None


def test_build_member_repo_order(policy):
    svc = FakeServices(policy)
    inner = RecordingMemberRepo()
    image = shared_image()
    repo = build_member_repo(member(), svc, image, domain=inner)
    kinds = []
    while repo is not inner:
        kinds.append(type(repo))
        assert repo.image is image
        repo = repo.inner
    assert kinds == [AuthorizationMemberRepo, NotifierMemberRepo, PolicyMemberRepo, QuotaMemberRepo]


def test_chain_refuses_before_anything_is_written_or_sent(policy):
    svc = FakeServices(policy)
    image = shared_image()
    inner = RecordingMemberRepo(get=memberships(image, OTHER_PROJECT))
    repo = build_member_repo(member(OTHER_PROJECT), svc, image, domain=inner)
    with pytest.raises(errors.Forbidden):
        repo.remove(row(OTHER_PROJECT, image))
    with pytest.raises(errors.Forbidden):
        repo.add(row(THIRD_PROJECT, image))
    assert "remove" not in inner.names()
    assert "add" not in inner.names()
    assert svc.notifier.sent == []
    accepted = row(OTHER_PROJECT, image, status="accepted")
    assert repo.save(accepted) is accepted
    assert [m["event_type"] for m in svc.notifier.sent] == ["image.member.update"]
