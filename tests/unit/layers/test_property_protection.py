"""Property protection: the rules file (both formats) and the layer that applies it."""

from __future__ import annotations

import textwrap

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.layers.property_protection import (
    PropertyProtectionImageFactory,
    PropertyProtectionImageRepo,
)
from imgreg.rules.policy import Policy
from imgreg.rules.property_rules import PropertyRules, PropertyRulesError
from tests.support.builders import admin, make_conf, make_image, member, reader
from tests.unit.layers.recording import RecordingFactory, RecordingRepo

ROLES = """
[^x_owner_]
create = admin,member
read = admin,member
update = admin
delete = admin

[^x_secret_]
create = admin
read = admin
update = admin
delete = admin

[^x_first]
create = @
read = @
update = @
delete = @

[^x_]
create = !
read = !
update = !
delete = !

[^free_]
create = @
read = @
update = @
delete = @
"""

POLICIES = """
[^x_pol_]
create = context_is_admin
read = default
update = context_is_admin
delete = !
"""


def write(tmp_path, text, name="protections.conf"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def rules(tmp_path):
    return PropertyRules(write(tmp_path, ROLES), "roles")


@pytest.fixture
def policy_rules(tmp_path):
    return PropertyRules(write(tmp_path, POLICIES), "policies", Policy(make_conf()))


@pytest.mark.parametrize(
    ("ctx", "op", "allowed"),
    [
        (member, "create", True),
        (member, "read", True),
        (member, "update", False),
        (member, "delete", False),
        (reader, "create", False),
        (reader, "read", False),
        (admin, "update", True),
        (admin, "delete", True),
    ],
)
def test_roles_format(rules, ctx, op, allowed):
    assert rules.allowed(ctx(), "x_owner_a", op) is allowed


def test_roles_are_case_insensitive(rules):
    ctx = member()
    ctx.roles = ["MEMBER"]
    assert rules.allowed(ctx, "x_owner_a", "create")


@pytest.mark.parametrize(
    ("ctx", "op", "allowed"),
    [
        (member, "create", False),
        (admin, "create", True),
        (member, "read", True),
        (reader, "read", True),
        (admin, "update", True),
        (member, "update", False),
        (admin, "delete", False),
    ],
)
def test_policies_format(policy_rules, ctx, op, allowed):
    assert policy_rules.allowed(ctx(), "x_pol_a", op) is allowed


def test_first_matching_section_wins(rules):
    # x_first… matches [^x_first] (anyone) before [^x_] (no one); x_other only [^x_].
    assert rules.allowed(reader(), "x_first_thing", "update")
    assert not rules.allowed(admin(), "x_other", "read")


def test_unmatched_property_is_denied(rules):
    assert rules.allowed(reader(), "free_a", "create")
    assert not rules.allowed(admin(), "unlisted", "read")


def test_regex_is_searched_not_matched(tmp_path):
    rules = PropertyRules(
        write(tmp_path, "[secret]\ncreate = !\nread = @\nupdate = @\ndelete = @\n"), "roles"
    )
    assert not rules.allowed(admin(), "my_secret_key", "create")
    assert rules.allowed(admin(), "my_secret_key", "read")


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("[a]\ncreate = @\nread = @\nupdate = @\n", "roles", "does not define 'delete'"),
        ("[(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n", "roles", "not a regex"),
        ("[a]\ncreate = @,admin\nread = @\nupdate = @\ndelete = @\n", "roles", "stand alone"),
        ("[a]\ncreate = !,member\nread = @\nupdate = @\ndelete = @\n", "roles", "stand alone"),
        ("[a]\ncreate = r1,r2\nread = @\nupdate = @\ndelete = @\n", "policies", "exactly one"),
        ("no section header\n", "roles", "protections.conf"),
    ],
)
def test_malformed_file(tmp_path, text, fmt, message):
    with pytest.raises(PropertyRulesError, match=message):
        PropertyRules(write(tmp_path, text), fmt)


def test_missing_file(tmp_path):
    with pytest.raises(PropertyRulesError, match="cannot be read"):
        PropertyRules(str(tmp_path / "absent.conf"), "roles")


# -- the layer ------------------------------------------------------------------------------
def test_create_denied(rules):
    inner = RecordingFactory()
    factory = PropertyProtectionImageFactory(inner, member(), rules)
    with pytest.raises(errors.ReservedProperty, match="x_secret_a"):
        factory.new_image("p", extra_properties={"x_owner_a": "1", "x_secret_a": "2"})
    assert inner.calls == []


def test_create_allowed(rules):
    inner = RecordingFactory()
    PropertyProtectionImageFactory(inner, member(), rules).new_image(
        "p", extra_properties={"x_owner_a": "1"}
    )
    assert inner.only("new_image").kwargs == {"extra_properties": {"x_owner_a": "1"}}


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda props: props.update(x_owner_a="changed"), "x_owner_a"),  # update: admin only
        (lambda props: props.pop("x_owner_a"), "x_owner_a"),  # delete: admin only
        (lambda props: props.update(x_secret_new="v"), "x_secret_new"),  # create: admin only
        (lambda props: props.update(unlisted="v"), "unlisted"),  # no section: denied
    ],
)
def test_save_denied(rules, change, name):
    image = make_image(extra_properties={"x_owner_a": "1"})
    change(image.extra_properties)
    inner = RecordingRepo()
    with pytest.raises(errors.ReservedProperty, match=f"'{name}' is reserved"):
        PropertyProtectionImageRepo(inner, member(), rules).save(image)
    assert inner.calls == []


def test_save_allowed_for_admin(rules):
    image = make_image(extra_properties={"x_owner_a": "1"})
    image.extra_properties["x_owner_a"] = "2"
    inner = RecordingRepo()
    PropertyProtectionImageRepo(inner, admin(), rules).save(image, from_state="queued")
    call = inner.only("save")
    assert call.kwargs == {"from_state": "queued"}
    assert call.images[0].extra_properties == {"x_owner_a": "2"}


def _stored():
    return make_image(extra_properties={"x_owner_a": "1", "x_secret_a": "s", "free_a": "f"})


def test_unreadable_properties_hidden_on_get(rules):
    stored = _stored()
    image = PropertyProtectionImageRepo(RecordingRepo(get=stored), member(), rules).get(stored.id)
    assert image.extra_properties == {"x_owner_a": "1", "free_a": "f"}
    assert image.changes().properties == set()  # hiding is not a change


def test_unreadable_properties_hidden_on_list(rules):
    images = [_stored(), _stored()]
    listed = PropertyProtectionImageRepo(RecordingRepo(list=images), reader(), rules).list(None)
    assert [i.extra_properties for i in listed] == [{"free_a": "f"}] * 2


def test_admin_reads_everything(rules):
    stored = _stored()
    image = PropertyProtectionImageRepo(RecordingRepo(get=stored), admin(), rules).get(stored.id)
    assert set(image.extra_properties) == {"x_owner_a", "x_secret_a", "free_a"}


def test_hidden_properties_preserved_on_save(rules):
    stored = _stored()
    inner = RecordingRepo(get=stored)
    repo = PropertyProtectionImageRepo(inner, member(), rules)
    image = repo.get(stored.id)
    image.extra_properties["free_a"] = "changed"
    saved = repo.save(image)
    written = inner.only("save").images[0]
    assert written.extra_properties == {"x_owner_a": "1", "x_secret_a": "s", "free_a": "changed"}
    assert written.changes().properties == {"free_a"}  # the hidden one is not deleted
    assert "x_secret_a" not in saved.extra_properties  # and is hidden again in the answer


def test_writing_an_unreadable_property_counts_as_update(rules):
    stored = _stored()
    inner = RecordingRepo(get=stored)
    repo = PropertyProtectionImageRepo(inner, member(), rules)
    image = repo.get(stored.id)
    image.extra_properties["x_secret_a"] = "overwrite"
    with pytest.raises(errors.ReservedProperty, match="x_secret_a"):
        repo.save(image)
    assert inner.names() == ["get"]


def test_begin_upload_puts_hidden_properties_back(rules):
    stored = _stored()
    stored.status, stored.disk_format, stored.container_format = "queued", "raw", "bare"
    stored.mark_clean()
    inner = RecordingRepo(get=stored)
    repo = PropertyProtectionImageRepo(inner, member(), rules)
    image = repo.get(stored.id)
    image.begin_upload()
    terms = UploadTerms(size_cap=1)
    repo.begin_upload(image, terms)
    call = inner.only("begin_upload")
    assert call.args == (image, terms)
    begun = call.images[0]
    assert begun.extra_properties == {"x_owner_a": "1", "x_secret_a": "s", "free_a": "f"}
    assert begun.changes().properties == set()  # the upload changes no property
    assert begun.changes().fields == {"status"}


def test_add_hides_unreadable(rules):
    image = make_image(extra_properties={"x_secret_a": "s", "free_a": "f"})
    added = PropertyProtectionImageRepo(RecordingRepo(), member(), rules).add(image)
    assert added.extra_properties == {"free_a": "f"}
