"""Policy: each rule with the Secure-RBAC personas, through the real oslo.policy enforcer."""

from __future__ import annotations

import os

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.domain.query import ListQuery
from imgreg.layers.policy import PolicyImageFactory, PolicyImageRepo
from imgreg.rules.policy import Policy
from tests.support.builders import (
    OTHER_PROJECT,
    PROJECT,
    admin,
    make_conf,
    make_image,
    member,
    reader,
)
from tests.unit.layers.recording import RecordingFactory, RecordingRepo

PERSONAS = {
    "reader": reader,
    "member": member,
    "admin": admin,
    "other": lambda: member(OTHER_PROJECT),  # a member of another project
}


def guarded(inner, ctx, policy):
    """The layer over ``inner``, asking ``inner.member_status`` who is a member."""
    return PolicyImageRepo(inner, ctx, policy, inner.member_status)


@pytest.fixture(scope="module")
def policy():
    return Policy(make_conf())


def image_of(status="queued", visibility="private", **fields):
    return make_image(
        owner=PROJECT, status=status, visibility=visibility,
        disk_format="raw", container_format="bare", **fields,
    )  # fmt: skip


def _modify(repo, image):
    image.name = "renamed"
    repo.save(image)


def _set_visibility(value):
    def op(repo, image):
        image.visibility = value
        repo.save(image)

    return op


def _status(method):
    def op(repo, image):
        getattr(image, method)()
        repo.save(image)

    return op


# operation -> (the image it works on, what it does, who may do it)
OPERATIONS = {
    "get_image": (image_of, lambda repo, image: repo.get(image.id), {"reader", "member", "admin"}),
    "get_images": (image_of, lambda repo, image: repo.list(ListQuery(None, False, 5)),
                   {"reader", "member", "admin", "other"}),  # the target is the caller's project
    "modify_image": (image_of, _modify, {"member", "admin"}),
    "modify_image (a save that changes nothing)": (image_of, lambda repo, image: repo.save(image),
                                                   {"member", "admin"}),
    "delete_image": (image_of, lambda repo, image: repo.remove(image), {"member", "admin"}),
    "upload_image": (lambda: image_of("saving"),
                     lambda repo, image: repo.begin_upload(image, UploadTerms()),
                     {"member", "admin"}),
    "upload_image (queued->saving)": (image_of, _status("begin_upload"), {"member", "admin"}),
    "download_image": (lambda: image_of("active"),
                       lambda repo, image: repo.open_data(image, 0, None), {"member", "admin"}),
    "download_image (check_download)": (image_of, lambda repo, image: repo.check_download(image),
                                        {"member", "admin"}),
    "deactivate": (lambda: image_of("active"), _status("deactivate"), {"member", "admin"}),
    "reactivate": (lambda: image_of("deactivated"), _status("reactivate"), {"member", "admin"}),
    "publicize_image": (image_of, _set_visibility("public"), {"admin"}),
    "communitize_image": (image_of, _set_visibility("community"), {"member", "admin"}),
    "activate (imgreg's own move)": (lambda: image_of("saving"), _status("activate"),
                                     {"reader", "member", "admin", "other"}),
}  # fmt: skip
CASES = [(op, who) for op in OPERATIONS for who in PERSONAS]


@pytest.mark.parametrize(("operation", "who"), CASES)
def test_repo_rules(policy, operation, who):
    make, run, allowed = OPERATIONS[operation]
    image = make()
    inner = RecordingRepo(get=image)
    repo = guarded(inner, PERSONAS[who](), policy)
    if who in allowed:
        run(repo, image)
        assert inner.names()[-1] in {"get", "list", "save", "remove", "begin_upload",
                                     "open_data", "check_download"}  # fmt: skip
    elif operation == "get_image":
        with pytest.raises(errors.NotFound, match=image.id):  # a denied get discloses nothing
            run(repo, image)
    else:
        with pytest.raises(errors.Forbidden, match="not authorized"):
            run(repo, image)
        assert set(inner.names()) <= {"get", "member_status"}  # nothing was changed


@pytest.mark.parametrize(
    ("who", "visibility", "allowed"),
    [
        ("reader", "shared", False),  # add_image: member or admin
        ("member", "shared", True),
        ("member", "private", True),
        ("admin", "private", True),
        ("member", "public", False),  # publicize_image: admin only
        ("admin", "public", True),
        ("member", "community", True),  # communitize_image: member or admin
        ("reader", "community", False),
    ],
)
def test_factory_rules(policy, who, visibility, allowed):
    inner = RecordingFactory()
    ctx = PERSONAS[who]()
    factory = PolicyImageFactory(inner, ctx, policy)
    if allowed:
        assert factory.new_image(ctx.project_id, visibility=visibility).visibility == visibility
    else:
        with pytest.raises(errors.Forbidden):
            factory.new_image(ctx.project_id, visibility=visibility)
    assert inner.only("new_image").args == (ctx.project_id,)


def test_creating_for_another_project_is_refused(policy):
    with pytest.raises(errors.Forbidden, match="add_image"):
        PolicyImageFactory(RecordingFactory(), member(), policy).new_image(OTHER_PROJECT)


def test_shared_image_member_may_download(policy):
    image = image_of("active", visibility="shared")
    inner = RecordingRepo(member_status="accepted")
    guarded(inner, member(OTHER_PROJECT), policy).open_data(image)
    assert inner.names() == ["member_status", "open_data"]


@pytest.mark.parametrize("who", ["admin", "member", "reader"])
def test_the_owner_or_an_admin_costs_no_member_lookup(policy, who):
    # the rules decide on role:admin or the owner's project before they read member_id
    image = image_of("active", visibility="shared")
    inner = RecordingRepo(get=image, member_status="accepted")
    repo = guarded(inner, PERSONAS[who](), policy)
    repo.get(image.id)
    if who != "reader":
        _modify(repo, image)
    assert "member_status" not in inner.names()


@pytest.mark.parametrize("status", ["accepted", None])
def test_a_non_owner_is_looked_up_once(policy, status):
    # the caller is no owner and no admin: get_image reads member_id, which is then known
    image = image_of("active", visibility="shared")
    inner = RecordingRepo(get=image, member_status=status)
    repo = guarded(inner, member(OTHER_PROJECT), policy)
    repo.get(image.id)  # a reader may see any shared image (Glance's rule)
    assert inner.names() == ["get", "member_status"]


def test_data_only_save_needs_no_modify_rule(policy):
    image = image_of("saving")
    image.size = 10
    image.checksum = "0" * 32
    inner = RecordingRepo()
    guarded(inner, reader(), policy).save(image, from_state="saving")
    assert inner.only("save").kwargs == {"from_state": "saving"}


def policy_file(tmp_path, text):
    """``policy.yaml`` holding ``text`` and a configuration naming it: (rules path, conf path)."""
    rules = tmp_path / "policy.yaml"
    rules.write_text(text)
    config = tmp_path / "imgreg.conf"
    config.write_text(f"[oslo_policy]\npolicy_file = {rules}\n")
    return rules, config


def frozen_clock(monkeypatch):
    """``imgreg.rules.policy``' monotonic clock, moved only by the test (``clock[0] += …``)."""
    clock = [1000.0]
    monkeypatch.setattr("imgreg.rules.policy.time.monotonic", lambda: clock[0])
    return clock


def test_policy_file_override(tmp_path):
    _rules, config = policy_file(
        tmp_path, '"delete_image": "role:admin"\n"add_image": "role:reader"\n'
    )
    default, overridden = Policy(make_conf()), Policy(make_conf(config))
    image = image_of()

    guarded(RecordingRepo(), member(), default).remove(image)
    with pytest.raises(errors.Forbidden, match="delete_image"):
        guarded(RecordingRepo(), member(), overridden).remove(image)

    with pytest.raises(errors.Forbidden, match="add_image"):
        PolicyImageFactory(RecordingFactory(), reader(), default).new_image(PROJECT)
    PolicyImageFactory(RecordingFactory(), reader(), overridden).new_image(PROJECT)


def test_an_edited_policy_file_takes_effect_after_the_reload_interval(tmp_path, monkeypatch):
    rules, config = policy_file(tmp_path, '"delete_image": "role:admin"\n')
    clock = frozen_clock(monkeypatch)  # before Policy(): it reads the clock once
    policy = Policy(make_conf(config))
    repo = guarded(RecordingRepo(), member(), policy)
    with pytest.raises(errors.Forbidden):
        repo.remove(image_of())
    rules.write_text('"delete_image": "role:member"\n')
    os.utime(rules, (2e9, 2e9))  # a different mtime, whatever the clock's resolution
    with pytest.raises(errors.Forbidden):
        repo.remove(image_of())  # the file is not looked at on every check
    clock[0] += Policy.RELOAD_SECONDS
    repo.remove(image_of())


def test_is_admin_is_remembered_per_credentials_until_the_policy_file_is_reread(
    tmp_path, monkeypatch
):
    rules, config = policy_file(tmp_path, '"context_is_admin": "role:admin"\n')
    clock = frozen_clock(monkeypatch)  # before Policy(): it reads the clock once
    policy = Policy(make_conf(config))
    operator = {"project_id": "p", "user_id": "u", "roles": ["operator"], "is_admin": False}
    admin = {**operator, "roles": ["admin"]}
    checks = []
    real_enforce = policy.enforcer.enforce
    monkeypatch.setattr(
        policy.enforcer, "enforce", lambda *a, **k: checks.append(a) or real_enforce(*a, **k)
    )
    assert [policy.is_admin(operator) for _ in range(3)] == [False] * 3
    assert policy.is_admin(admin) is True
    assert len(checks) == 2  # once per set of credentials
    rules.write_text('"context_is_admin": "role:operator"\n')
    os.utime(rules, (2e9, 2e9))
    assert policy.is_admin(operator) is False  # not reread yet
    clock[0] += Policy.RELOAD_SECONDS
    assert policy.is_admin(operator) is True
    assert policy.is_admin(admin) is False
