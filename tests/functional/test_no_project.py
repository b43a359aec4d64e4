"""A caller with roles but no project owns nothing (issue 15, finding 2).

Such a caller is what a token without a project scope looks like behind trusted headers, or
keystonemiddleware's headers with ``X-Project-Id`` absent, empty or present with no value. Its
missing project never matches an image's missing owner: not in the authorization layer
(``owner == project``), not in a policy rule (``project_id:%(project_id)s`` would compare
``"None"`` with ``"None"``), not in the SQL of a list. So on images the administrator made
without an owner it may do only what every project may do: read what is public, community or
shared, and change nothing. It creates nothing (Glance's rule: a member creates images owned
by its own project) and, under the default rules, lists nothing (``get_images`` asks for a
reader of the caller's project).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Client, client_with

PATCH = "application/openstack-images-v2.1-json-patch"
DATA = b"no project\n"
BASE = {"X-Identity-Status": "Confirmed", "X-User-Id": "u-no-project", "X-Roles": "member,reader"}
# the ways keystonemiddleware or a proxy leaves the project out
NO_PROJECT = {
    "absent": {},
    "empty": {"X-Project-Id": "", "X-Tenant-Id": ""},
    "no value": {"X-Project-Id": None, "X-Tenant-Id": None},  # webob: present, value None
}


@pytest.fixture(params=list(NO_PROJECT))
def nobody(api: Client, request: pytest.FixtureRequest) -> Client:
    return Client(api.app, {**BASE, **NO_PROJECT[request.param]})


def ownerless(api: Client, visibility: str, active: bool = False) -> str:
    """An image the administrator (no identity headers, so no project) made: no owner."""
    image = api.create(name="ownerless", visibility=visibility, owner=None)
    assert image["owner"] is None
    if active:
        assert api.put_file(image["id"], DATA).status_int == 204
    return str(image["id"])


def patch(c: Client, image_id: str, path: str, value: Any) -> int:
    ops = [{"op": "replace", "path": path, "value": value}]
    return c.request("PATCH", f"/v2/images/{image_id}", body=ops,
                     headers={"Content-Type": PATCH}).status_int  # fmt: skip


# each operation and, after it, what the administrator still sees ("unchanged" is checked)
OPERATIONS = {
    "PATCH name": lambda c, i: patch(c, i, "/name", "renamed"),
    "PATCH visibility=community": lambda c, i: patch(c, i, "/visibility", "community"),
    "deactivate": lambda c, i: c.post(f"/v2/images/{i}/actions/deactivate").status_int,
    "tag add": lambda c, i: c.request("PUT", f"/v2/images/{i}/tags/t").status_int,
    "DELETE": lambda c, i: c.delete(f"/v2/images/{i}").status_int,
}
# the image is hidden (404) where the caller may not read it, else it may read it but not change it
EXPECTED = {"private": 404, "shared": 403, "public": 403, "community": 403}


@pytest.mark.parametrize("visibility", list(EXPECTED))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_changes_nothing_on_an_image_without_owner(
    api: Client, nobody: Client, operation: str, visibility: str
):
    image_id = ownerless(api, visibility, active=True)
    before = api.get(f"/v2/images/{image_id}").json
    assert OPERATIONS[operation](nobody, image_id) == EXPECTED[visibility]
    after = api.get(f"/v2/images/{image_id}")
    assert after.status_int == 200
    assert after.json == before


@pytest.mark.parametrize("visibility", list(EXPECTED))
def test_uploads_nothing_to_an_image_without_owner(api: Client, nobody: Client, visibility: str):
    image_id = ownerless(api, visibility)
    assert nobody.put_file(image_id, DATA).status_int == EXPECTED[visibility]
    assert api.get(f"/v2/images/{image_id}").json["status"] == "queued"


READABLE = {"private": 404, "shared": 200, "public": 200, "community": 200}


@pytest.mark.parametrize(("visibility", "expected"), list(READABLE.items()))
def test_reads_what_every_project_may_read(
    api: Client, nobody: Client, visibility: str, expected: int
):
    image_id = ownerless(api, visibility, active=True)
    assert nobody.get(f"/v2/images/{image_id}").status_int == expected
    resp = nobody.get(f"/v2/images/{image_id}/file")
    assert resp.status_int == expected
    if expected == 200:
        assert resp.body == DATA


@pytest.mark.parametrize(
    "body",
    [{}, {"owner": None}, {"visibility": "community"}, {"visibility": "shared"},
     {"owner": "p1"}, {"owner": ""}],
)  # fmt: skip
def test_creates_nothing(api: Client, nobody: Client, body: dict[str, Any]):
    resp = nobody.post("/v2/images", {"name": "x", **body})
    assert resp.status_int == 403, resp.text
    assert api.get("/v2/images").json["images"] == []


def test_lists_nothing_under_the_default_rules(api: Client, nobody: Client):
    ownerless(api, "public")
    resp = nobody.get("/v2/images")
    assert resp.status_int == 403
    assert "get_images" in resp.text


def test_members_of_an_image_without_owner_are_not_its_business(api: Client, nobody: Client):
    image_id = ownerless(api, "shared")
    url = f"/v2/images/{image_id}/members"
    assert api.post(url, {"member": "p3"}).status_int == 200
    assert nobody.get(url).status_int == 403
    assert nobody.get(f"{url}/p3").status_int == 404  # a denied get_member reads as missing
    assert nobody.post(url, {"member": "p4"}).status_int == 403
    assert nobody.request("PUT", f"{url}/p3", body={"status": "accepted"}).status_int == 403
    assert nobody.delete(f"{url}/p3").status_int == 403
    assert [(m["member_id"], m["status"]) for m in api.get(url).json["members"]] == [
        ("p3", "pending")
    ]


def test_usage_counts_nothing(api: Client, nobody: Client):
    ownerless(api, "private", active=True)
    usage = nobody.get("/v2/info/usage").json["usage"]
    assert usage["image_count_total"]["usage"] == 0
    assert usage["image_size_total"]["usage"] == 0


def test_a_list_it_may_make_shows_only_what_everyone_sees(conf: Any, app: Any, tmp_path: Path):
    """Where ``policy.yaml`` lets it list, the SQL still gives it only public and community
    images: its missing project matches no owner (not even ``""``) and no member."""
    path = tmp_path / "policy.yaml"
    path.write_text('"get_images": "role:reader"\n')
    api = client_with(conf, **{"oslo_policy.policy_file": str(path)})
    made = {
        v: api.create(name=v, visibility=v, owner=owner)["id"]
        for v, owner in (("private", ""), ("shared", ""), ("public", None), ("community", None))
    }
    assert api.post(f"/v2/images/{made['shared']}/members", {"member": "p9"}).status_int == 200
    for variant in NO_PROJECT.values():
        nobody = Client(api.app, {**BASE, **variant})

        def listed(query: str, who: Client = nobody) -> set[str]:
            resp = who.get(f"/v2/images{query}")
            assert resp.status_int == 200, resp.text
            return {i["id"] for i in resp.json["images"]}

        assert listed("") == {made["public"]}
        assert listed("?visibility=all") == {made["public"], made["community"]}
        assert listed("?visibility=community") == {made["community"]}
        assert listed("?visibility=private") == set()
        assert listed("?visibility=shared") == set()
        assert listed("?visibility=shared&member_status=all") == set()
        # a marker it may not read is not one it may page from
        assert nobody.get(f"/v2/images?marker={made['private']}").status_int == 400
