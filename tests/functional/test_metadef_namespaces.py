"""Metadef namespaces through the whole app: CRUD, lists, visibility, protection, cascades.

Personas: ``admin`` (no identity headers: the noauth pipeline's administrator), ``p1admin``
(an administrator of project p1), ``reader`` (p2, reader and member roles).
"""

from __future__ import annotations

import re

import pytest

NS = "/v2/metadefs/namespaces"
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


@pytest.fixture
def admin(api):
    return api


@pytest.fixture
def reader(api):
    return api.as_("p2", roles="reader,member")


def make(client, name="OS::Test::One", status=201, **body):
    resp = client.post(NS, {"namespace": name, **body})
    assert resp.status_int == status, resp.text
    return resp


def put(client, path, body):
    return client.request("PUT", path, body=body)


def test_create_show_layout(admin):
    resp = make(admin, display_name="One", description="d", visibility="public", protected=True)
    assert resp.headers["Location"].endswith(f"{NS}/OS::Test::One")
    body = resp.json
    assert body["namespace"] == "OS::Test::One"
    assert body["self"] == f"{NS}/OS::Test::One"
    assert body["schema"] == "/v2/schemas/metadefs/namespace"
    assert body["visibility"] == "public" and body["protected"] is True
    assert re.match(ISO, body["created_at"]) and re.match(ISO, body["updated_at"])
    shown = admin.get(f"{NS}/OS::Test::One").json
    assert {k: shown[k] for k in body} == body


def test_defaults_and_absent_fields(api):
    owner = api.as_("p1", roles="admin")
    body = make(owner).json
    assert body["visibility"] == "private" and body["protected"] is False
    assert body["owner"] == "p1"
    assert "display_name" not in body and "description" not in body


def test_duplicate_is_409_and_exact(admin):
    make(admin)
    resp = make(admin, status=409)
    assert "already exists" in resp.text
    # Names compare exactly on every database (MariaDB's default collation would not).
    make(admin, name="os::test::one")
    make(admin, name="OS::Test::Oné")
    assert admin.get(f"{NS}/os::test::one").json["namespace"] == "os::test::one"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"namespace": "x" * 81}, 400),
        ({"namespace": ""}, 400),
        ({"namespace": "a/b"}, 400),
        ({"namespace": 5}, 400),
        ({}, 400),
        ({"namespace": "n", "visibility": "shared"}, 400),
        ({"namespace": "n", "protected": "yes"}, 400),
        ({"namespace": "n", "description": "d" * 501}, 400),
        ({"namespace": "n", "owner": "o" * 256}, 400),
        ({"namespace": "n", "bogus": 1}, 400),
        ({"namespace": "n", "self": "/x"}, 403),
        ({"namespace": "n", "created_at": "2020-01-01T00:00:00Z"}, 403),
        ({"namespace": "n\x00"}, 400),
        ({"namespace": "n", "properties": {"p": {"type": "string"}}}, 400),
        ({"namespace": "n", "properties": {"p": {"title": "t", "type": "nope"}}}, 400),
        ({"namespace": "n", "objects": [{"description": "no name"}]}, 400),
        ({"namespace": "n", "tags": [{"name": "t"}, {"name": "t"}]}, 409),
        ({"namespace": "n", "objects": [{"name": "o"}, {"name": "o"}]}, 409),
    ],
)
def test_bad_create_is_4xx_and_changes_nothing(admin, body, status):
    resp = admin.post(NS, body)
    assert resp.status_int == status, resp.text
    assert admin.get(NS).json["namespaces"] == []


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"null", b"\xff"])
def test_malformed_json_is_400(admin, raw):
    resp = admin.request("POST", NS, raw=raw, headers={"Content-Type": "application/json"})
    assert resp.status_int == 400, resp.text


def test_create_with_contents_and_show(admin):
    body = {
        "namespace": "OS::Test::Full",
        "visibility": "public",
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
        "properties": {"cpu": {"title": "CPU", "type": "integer", "minimum": 1}},
        "objects": [
            {
                "name": "Obj",
                "required": ["x"],
                "properties": {"x": {"title": "X", "type": "string"}},
            }
        ],
        "tags": [{"name": "t1"}, {"name": "t2"}],
    }
    created = admin.post(NS, body)
    assert created.status_int == 201, created.text
    shown = admin.get(f"{NS}/OS::Test::Full").json
    assert shown["properties"] == {"cpu": {"title": "CPU", "type": "integer", "minimum": 1}}
    assert [o["name"] for o in shown["objects"]] == ["Obj"]
    assert shown["objects"][0]["required"] == ["x"]
    assert [t["name"] for t in shown["tags"]] == ["t1", "t2"]
    assert [a["name"] for a in shown["resource_type_associations"]] == ["OS::Glance::Image"]
    prefixed = admin.get(f"{NS}/OS::Test::Full?resource_type=OS::Glance::Image").json
    assert set(prefixed["properties"]) == {"hw_cpu"}
    assert set(prefixed["objects"][0]["properties"]) == {"hw_x"}
    assert prefixed["objects"][0]["required"] == ["hw_x"]
    listed = admin.get(NS).json["namespaces"][0]
    assert listed["resource_type_associations"][0]["prefix"] == "hw_"
    assert "properties" not in listed


def test_update_renames_and_checks_duplicates(admin):
    make(admin, name="A", description="old")
    make(admin, name="B")
    resp = put(admin, f"{NS}/A", {"namespace": "B"})
    assert resp.status_int == 409, resp.text
    resp = put(admin, f"{NS}/A", {"namespace": "C", "visibility": "public"})
    assert resp.status_int == 200, resp.text
    assert resp.json["namespace"] == "C" and "description" not in resp.json
    assert admin.get(f"{NS}/A").status_int == 404
    assert admin.get(f"{NS}/C").json["visibility"] == "public"
    assert put(admin, f"{NS}/missing", {"namespace": "D"}).status_int == 404
    assert put(admin, f"{NS}/C", {"namespace": "x" * 81}).status_int == 400


def test_protected_cannot_be_deleted(admin):
    make(admin, protected=True, tags=[{"name": "t"}])
    for path in ("", "/tags", "/objects", "/properties"):
        resp = admin.delete(f"{NS}/OS::Test::One{path}")
        assert resp.status_int == 403, resp.text
    assert admin.get(f"{NS}/OS::Test::One").json["tags"] == [{"name": "t"}]
    put(admin, f"{NS}/OS::Test::One", {"namespace": "OS::Test::One", "protected": False})
    assert admin.delete(f"{NS}/OS::Test::One").status_int == 204
    assert admin.get(f"{NS}/OS::Test::One").status_int == 404


def test_delete_cascades(admin, clean_db):
    make(
        admin,
        resource_type_associations=[{"name": "OS::Nova::Flavor"}],
        objects=[{"name": "o"}],
        properties={"p": {"title": "P", "type": "string"}},
        tags=[{"name": "t"}],
    )
    assert admin.delete(f"{NS}/OS::Test::One").status_int == 204
    make(admin)  # the same name again: nothing of the old one is left
    shown = admin.get(f"{NS}/OS::Test::One").json
    assert not {"objects", "properties", "tags", "resource_type_associations"} & set(shown)
    # the resource type itself stays
    types = admin.get("/v2/metadefs/resource_types").json["resource_types"]
    assert [t["name"] for t in types] == ["OS::Nova::Flavor"]


def test_bulk_deletes(admin):
    make(admin, objects=[{"name": "o"}], properties={"p": {"title": "P", "type": "string"}},
         tags=[{"name": "t"}])  # fmt: skip
    for kind in ("objects", "properties", "tags"):
        assert admin.delete(f"{NS}/OS::Test::One/{kind}").status_int == 204
    shown = admin.get(f"{NS}/OS::Test::One").json
    assert not {"objects", "properties", "tags"} & set(shown)


def test_visibility_and_owner(api, reader):
    p1 = api.as_("p1", roles="admin")
    make(api, name="public", visibility="public")
    make(api, name="private-p2", owner="p2")
    make(api, name="private-other", owner="p3")
    make(api, name="private-none")
    names = {n["namespace"] for n in reader.get(NS).json["namespaces"]}
    assert names == {"public", "private-p2"}
    assert reader.get(f"{NS}/private-other").status_int == 404
    assert reader.get(f"{NS}/private-p2").status_int == 200
    assert {n["namespace"] for n in p1.get(NS).json["namespaces"]} == {
        "public", "private-p2", "private-other", "private-none"
    }  # fmt: skip
    assert len(api.get(f"{NS}?visibility=public").json["namespaces"]) == 1


def test_reader_may_not_change(api, reader):
    make(api, name="mine", owner="p2", visibility="public")
    assert reader.post(NS, {"namespace": "x"}).status_int == 403
    assert put(reader, f"{NS}/mine", {"namespace": "mine2"}).status_int == 403
    assert reader.delete(f"{NS}/mine").status_int == 403
    assert reader.delete(f"{NS}/mine/tags").status_int == 403
    assert api.get(f"{NS}/mine").status_int == 200


def test_caller_without_project_owns_nothing(api):
    """An ownerless private namespace is not the namespace of a caller without a project,
    even with a policy that lets members write."""
    make(api, name="ownerless")
    anon = api.as_("p9", roles="reader")
    anon.headers.pop("X-Project-Id")
    assert anon.get(f"{NS}/ownerless").status_int == 404
    # Listing is for a project's readers: no project, no list (oslo.policy alone would let
    # "None" match "None" here).
    assert anon.get(NS).status_int == 403


def test_list_paging_and_sorting(admin):
    for i in range(5):
        make(admin, name=f"ns{i}")
    page = admin.get(f"{NS}?limit=2&sort_key=namespace&sort_dir=asc").json
    assert [n["namespace"] for n in page["namespaces"]] == ["ns0", "ns1"]
    assert page["first"] == f"{NS}?limit=2&sort_key=namespace&sort_dir=asc"
    assert "marker=ns1" in page["next"]
    seen = []
    path = f"{NS}?limit=2&sort_key=namespace&sort_dir=desc"
    while path:
        body = admin.get(path).json
        seen += [n["namespace"] for n in body["namespaces"]]
        path = body.get("next")
    assert seen == ["ns4", "ns3", "ns2", "ns1", "ns0"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=x", 400),
        ("limit=-1", 400),
        ("sort_dir=up", 400),
        ("sort_key=bogus", 400),
        ("visibility=shared", 400),
        ("marker=unknown", 404),
        ("marker=" + "m" * 300, 404),
        ("marker=%00", 404),
    ],
)
def test_bad_list_queries(admin, query, status):
    make(admin)
    assert admin.get(f"{NS}?{query}").status_int == status


def test_resource_types_filter(admin):
    make(admin, name="img", resource_type_associations=[{"name": "OS::Glance::Image"}])
    make(admin, name="vol", resource_type_associations=[{"name": "OS::Cinder::Volume"}])
    make(admin, name="none")
    got = admin.get(f"{NS}?resource_types=OS::Glance::Image,OS::Cinder::Volume").json
    assert {n["namespace"] for n in got["namespaces"]} == {"img", "vol"}
    assert admin.get(f"{NS}?resource_types=Unknown").json["namespaces"] == []


def test_notifications(admin, notifications):
    make(admin)
    put(admin, f"{NS}/OS::Test::One", {"namespace": "OS::Test::Two"})
    admin.delete(f"{NS}/OS::Test::Two/tags")
    admin.delete(f"{NS}/OS::Test::Two")
    events = [(n["event_type"], n["payload"]) for n in notifications]
    assert [e for e, _ in events] == [
        "metadef_namespace.create",
        "metadef_namespace.update",
        "metadef_namespace.delete_tags",
        "metadef_namespace.delete",
    ]
    assert events[1][1]["namespace_old"] == "OS::Test::One"
    assert events[1][1]["namespace"] == "OS::Test::Two"
    assert events[3][1]["deleted"] is True and events[3][1]["deleted_at"]
    assert set(events[0][1]) == {
        "namespace", "namespace_old", "display_name", "protected", "visibility", "owner",
        "description", "created_at", "updated_at", "deleted", "deleted_at",
    }  # fmt: skip


def test_unknown_method_is_405(admin):
    resp = admin.request("PATCH", f"{NS}/x")
    assert resp.status_int == 405
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "PUT", "DELETE"}


def test_a_namespace_deleted_while_the_list_is_read_is_left_out(admin, monkeypatch):
    """The list reads the namespaces, then each one's resource type associations; one deleted
    in between (tempest's parallel workers clean up while another lists) is left out, as if the
    list had been read a moment later, instead of a 404 for the whole list."""
    from imgreg.db.metadefs.namespaces import SqlNamespaceRepo
    from imgreg.services import wiring

    make(admin, "OS::Test::Stays", visibility="public")
    make(admin, "OS::Test::Goes", visibility="public")
    listing = SqlNamespaceRepo.list

    def list_then_delete(self, query):
        found = listing(self, query)
        gone = next(ns for ns in found if ns.namespace == "OS::Test::Goes")
        SqlNamespaceRepo(wiring.services().db).remove(gone, force=True)
        return found

    monkeypatch.setattr(SqlNamespaceRepo, "list", list_then_delete)
    resp = admin.get(NS)
    assert resp.status_int == 200, resp.text
    names = [ns["namespace"] for ns in resp.json["namespaces"]]
    assert "OS::Test::Stays" in names
    assert "OS::Test::Goes" not in names
