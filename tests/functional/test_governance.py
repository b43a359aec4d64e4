"""Property protections and policy overrides, through the whole app."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import Client, client_with

RULES = """
[^x_owner_.*]
create = admin,member
read = admin,member
update = admin
delete = admin

[^x_secret_.*]
create = admin
read = admin
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""


@pytest.fixture
def protected(conf, tmp_path: Path) -> Client:
    path = tmp_path / "protections.conf"
    path.write_text(RULES)
    return client_with(conf, property_protection_file=str(path))


def test_member_may_create_only_the_properties_its_roles_allow(protected):
    member = protected.as_("p1")
    image = member.create(name="a", x_owner_team="blue", free="1")
    assert image["x_owner_team"] == "blue"
    resp = member.post("/v2/images", {"name": "b", "x_secret_key": "k"})
    assert resp.status_int == 403
    assert "Attribute 'x_secret_key' is reserved." in resp.text


def test_unreadable_property_is_hidden_from_show_and_list(protected):
    admin = protected
    image = admin.create(name="a", owner="p1", x_secret_key="k", visibility="shared")
    assert image["x_secret_key"] == "k"
    member = protected.as_("p1")
    shown = member.get(f"/v2/images/{image['id']}").json
    assert "x_secret_key" not in shown
    listed = member.get("/v2/images").json["images"]
    assert [i["id"] for i in listed] == [image["id"]]
    assert "x_secret_key" not in listed[0]
    assert admin.get(f"/v2/images/{image['id']}").json["x_secret_key"] == "k"


def test_policy_file_override_changes_who_may_create(conf, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"add_image": "role:admin"\n')
    client = client_with(conf, **{"oslo_policy.policy_file": str(policy)})
    member = client.as_("p1")
    assert member.post("/v2/images", {"name": "a"}).status_int == 403
    assert client.post("/v2/images", {"name": "a"}).status_int == 201


def test_default_policy_lets_a_member_create_and_a_reader_not(api):
    assert api.as_("p1", roles="member,reader").post("/v2/images", {"name": "a"}).status_int == 201
    assert api.as_("p1", roles="reader").post("/v2/images", {"name": "a"}).status_int == 403
