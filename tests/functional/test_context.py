"""The request context: identity from keystonemiddleware's ``X-*`` headers."""

from __future__ import annotations

import uuid

import pytest


@pytest.mark.parametrize("status", ["Invalid", "invalid", "Unknown"])
def test_identity_not_confirmed_is_401(api, status):
    for method, path in (("GET", "/v2/images"), ("POST", "/v2/images"), ("GET", "/v2/nope")):
        resp = api.request(method, path, headers={"X-Identity-Status": status})
        assert resp.status_int == 401
        assert resp.text.startswith("401 Unauthorized")
        assert resp.headers["x-openstack-request-id"]
    assert api.get("/v2/images").json["images"] == []


def test_401_follows_accept(api):
    resp = api.get(
        "/v2/images", headers={"X-Identity-Status": "Invalid", "Accept": "application/json"}
    )
    assert resp.status_int == 401
    assert resp.json["code"] == "401 Unauthorized"


@pytest.mark.parametrize(("path", "status"), [("/", 300), ("/versions", 200), ("/v3/x", 300)])
def test_versions_document_needs_no_identity(api, path, status):
    resp = api.get(path, headers={"X-Identity-Status": "Invalid"})
    assert resp.status_int == status
    assert resp.json["versions"][0]["id"] == "v2.17"


def test_no_identity_headers_means_admin(api):
    private = api.as_("p1").create(visibility="private")["id"]
    assert api.get(f"/v2/images/{private}").status_int == 200
    assert api.create(owner="p7")["owner"] == "p7"
    assert api.create(visibility="public")["visibility"] == "public"


def test_project_id_becomes_the_owner(api):
    headers = {"X-Identity-Status": "Confirmed", "X-Project-Id": "proj-a", "X-Roles": "member"}
    resp = api.post("/v2/images", {"name": "x"}, headers=headers)
    assert resp.status_int == 201
    assert resp.json["owner"] == "proj-a"


def test_tenant_id_is_the_legacy_spelling_of_project_id(api):
    headers = {"X-Identity-Status": "Confirmed", "X-Tenant-Id": "proj-t", "X-Roles": "member"}
    resp = api.post("/v2/images", {"name": "x"}, headers=headers)
    assert resp.json["owner"] == "proj-t"
    both = {**headers, "X-Project-Id": "proj-p"}
    assert api.post("/v2/images", {"name": "y"}, headers=both).json["owner"] == "proj-p"


def test_identity_status_defaults_to_confirmed_when_other_headers_are_present(api):
    headers = {"X-Project-Id": "proj-a", "X-Roles": "member"}
    assert api.post("/v2/images", {}, headers=headers).json["owner"] == "proj-a"


def test_roles_are_read_from_a_comma_list_with_spaces(api):
    headers = {
        "X-Identity-Status": "Confirmed",
        "X-Project-Id": "p1",
        "X-Roles": " reader , admin ",
    }
    assert api.post("/v2/images", {"owner": "p2"}, headers=headers).json["owner"] == "p2"


def test_without_roles_nothing_is_allowed(api):
    image = api.create(owner="p1", visibility="public")["id"]
    headers = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1"}
    assert api.post("/v2/images", {}, headers=headers).status_int == 403
    assert api.get("/v2/images", headers=headers).status_int == 403
    assert api.get(f"/v2/images/{image}", headers=headers).status_int == 404


def test_admin_role_makes_an_admin(api):
    private = api.as_("p1").create(visibility="private")["id"]
    admin = api.as_("p2", roles="admin")
    assert admin.get(f"/v2/images/{private}").status_int == 200
    assert admin.create(visibility="public")["owner"] == "p2"


def test_user_id_does_not_change_what_a_project_sees(api):
    image = api.as_("p1", user="alice").create(visibility="private")["id"]
    assert api.as_("p1", user="bob").get(f"/v2/images/{image}").status_int == 200
    assert api.as_("p2", user="alice").get(f"/v2/images/{image}").status_int == 404


def test_without_anonymous_admin_no_identity_is_401(app):
    """The keystone flavor's context (no ``anonymous_admin``): a request that reached it without
    keystonemiddleware's headers, or without its X-Identity-Status, is never anyone's."""
    from imgreg.api.middleware import ContextMiddleware
    from imgreg.api.router import Router
    from imgreg.services import wiring
    from tests.support.client import Client

    api = Client(ContextMiddleware(Router(wiring.services()), wiring.services()))
    assert api.get("/v2/images").status_int == 401
    assert api.post("/v2/images", {"visibility": "public"}).status_int == 401
    headers = {"X-Project-Id": "proj-a", "X-Roles": "admin"}
    assert api.post("/v2/images", {}, headers=headers).status_int == 401
    confirmed = {**headers, "X-Identity-Status": "Confirmed"}
    assert api.post("/v2/images", {}, headers=confirmed).json["owner"] == "proj-a"
    for status in ("", " ", None):  # empty reads as absent: not Confirmed
        unconfirmed = {**headers, "X-Identity-Status": status}
        assert api.post("/v2/images", {}, headers=unconfirmed).status_int == 401


def test_an_empty_identity_status_in_noauth_is_an_absent_one(api):
    """The noauth flavor takes an absent X-Identity-Status as Confirmed; an empty one reads
    as absent, like every identity header (the request is still not anonymous: its caller has
    the roles it names, here none)."""
    image = api.create(visibility="public")["id"]
    headers = {"X-Identity-Status": ""}
    assert api.get(f"/v2/images/{image}", headers=headers).status_int == 404
    assert api.post("/v2/images", {}, headers=headers).status_int == 403
    headers["X-Roles"] = "reader"
    assert api.get(f"/v2/images/{image}", headers=headers).status_int == 200


# --- tokens without a project: keystonemiddleware's headers with no value (issue 15, finding 3)

# What keystonemiddleware sets for a system-scoped token: every identity header it knows, those
# the token has no value for as None (webob keeps them, present and empty), and
# OpenStack-System-Scope: all. A domain-scoped token has X-Domain-Id instead.
NO_VALUE = ("X-Project-Id", "X-Tenant-Id", "X-Project-Name", "X-Project-Domain-Id",
            "X-Domain-Id", "X-Domain-Name")  # fmt: skip
SCOPES = {
    "system": {"OpenStack-System-Scope": "all"},
    "domain": {
        "X-Domain-Id": "default",
        "X-Domain-Name": "Default",
        "OpenStack-System-Scope": None,
    },
}


def scoped(api, scope, empty, roles="admin,member,reader"):
    headers = dict.fromkeys(NO_VALUE, empty)
    headers.update(SCOPES[scope])
    headers.update({"X-Identity-Status": "Confirmed", "X-User-Id": "u-admin", "X-Roles": roles,
                    "X-User-Domain-Id": "default", "X-Is-Admin-Project": "False"})  # fmt: skip
    return type(api)(api.app, headers)


@pytest.mark.parametrize("empty", [None, ""], ids=["None", "empty"])
@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("roles", ["admin,member,reader", "member,reader"])
def test_a_caller_scoped_to_no_project_gets_what_glance_answers(api, scope, empty, roles):
    """Glance under Secure RBAC (every rule is for project scope): 403 for create and list, 404
    for anything on an image, whatever the roles."""
    c = scoped(api, scope, empty, roles)
    image = api.create(name="x", visibility="public", owner="p1")["id"]
    assert api.put_file(image, b"data").status_int == 204
    queued = api.create(name="q", visibility="public", owner="p1")["id"]
    assert c.post("/v2/images", {"name": "s", "visibility": "public"}).status_int == 403
    assert c.post("/v2/images", {"name": "s", "owner": "p1"}).status_int == 403
    assert c.get("/v2/images").status_int == 403
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    json_patch = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    outcomes = {
        "show": c.get(f"/v2/images/{image}"),
        "update": c.request("PATCH", f"/v2/images/{image}", body=patch, headers=json_patch),
        "upload": c.put_file(queued, b"data"),
        "download": c.get(f"/v2/images/{image}/file"),
        "deactivate": c.post(f"/v2/images/{image}/actions/deactivate"),
        "members": c.get(f"/v2/images/{image}/members"),
        "delete": c.delete(f"/v2/images/{image}"),
    }
    assert {k: r.status_int for k, r in outcomes.items()} == dict.fromkeys(outcomes, 404)
    assert api.get(f"/v2/images/{image}").json["name"] == "x"
    assert api.get(f"/v2/images/{queued}").json["status"] == "queued"
    assert len(api.get("/v2/images").json["images"]) == 2


@pytest.mark.parametrize("empty", [None, ""], ids=["None", "empty"])
def test_identity_headers_with_no_value_are_absent(api, empty):
    """Empty and absent read alike, for every identity header: a project-scoped member whose
    token has no domain, name or system scope is an ordinary member."""
    headers = dict.fromkeys((*NO_VALUE[2:], "OpenStack-System-Scope", "X-Tenant-Id"), empty)
    headers.update({"X-Identity-Status": "Confirmed", "X-Project-Id": "p1", "X-User-Id": "u1",
                    "X-Roles": "member,reader"})  # fmt: skip
    resp = api.post("/v2/images", {"name": "x"}, headers=headers)
    assert resp.status_int == 201, resp.text
    assert resp.json["owner"] == "p1"
    assert api.get("/v2/images", headers=headers).status_int == 200


def test_nul_in_any_identity_header_is_400(api):
    for name in ("X-Domain-Id", "OpenStack-System-Scope", "X-Roles", "X-User-Id"):
        resp = api.get("/v2/images", headers={"X-Identity-Status": "Confirmed", name: "a\x00b"})
        assert resp.status_int == 400, name


def test_a_minted_request_id_is_a_random_version_4_uuid(api):
    ids = {api.get("/v2/schemas/image").headers["x-openstack-request-id"] for _ in range(20)}
    assert len(ids) == 20
    for request_id in ids:
        assert request_id.startswith("req-")
        assert str(uuid.UUID(request_id[4:])) == request_id[4:]
        assert uuid.UUID(request_id[4:]).version == 4
        assert uuid.UUID(request_id[4:]).variant == uuid.RFC_4122
