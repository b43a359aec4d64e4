"""The request context: identity from keystonemiddleware's ``X-*`` headers."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("status", ["Invalid", "invalid", "Unknown", ""])
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
    assert resp.json["versions"][0]["id"] == "v2.15"


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
    from imgreg import wsgi
    from imgreg.api.middleware import ContextMiddleware
    from imgreg.api.router import Router
    from tests.conftest import Client

    api = Client(ContextMiddleware(Router(wsgi.services()), wsgi.services()))
    assert api.get("/v2/images").status_int == 401
    assert api.post("/v2/images", {"visibility": "public"}).status_int == 401
    headers = {"X-Project-Id": "proj-a", "X-Roles": "admin"}
    assert api.post("/v2/images", {}, headers=headers).status_int == 401
    confirmed = {**headers, "X-Identity-Status": "Confirmed"}
    assert api.post("/v2/images", {}, headers=confirmed).json["owner"] == "proj-a"
