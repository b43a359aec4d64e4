"""A namespace's objects, properties, tags and resource type associations, and the metadef
schemas, through the whole app: success, Glance's layouts, and every error a 4xx."""

from __future__ import annotations

import pytest

NS = "/v2/metadefs/namespaces"
N = f"{NS}/OS::Test"
PROP = {"name": "hw_disk_bus", "title": "Disk Bus", "type": "string", "enum": ["scsi", "ide"]}


@pytest.fixture
def admin(api):
    resp = api.post(NS, {"namespace": "OS::Test", "visibility": "public"})
    assert resp.status_int == 201, resp.text
    return api


@pytest.fixture
def reader(api):
    return api.as_("p2", roles="reader,member")


def put(client, path, body):
    return client.request("PUT", path, body=body)


# -- objects --------------------------------------------------------------------------------
def test_object_crud(admin):
    body = {"name": "Obj", "description": "d", "required": ["a"],
            "properties": {"a": {"title": "A", "type": "integer", "minimum": 0}}}  # fmt: skip
    resp = admin.post(f"{N}/objects", body)
    assert resp.status_int == 201, resp.text
    created = resp.json
    assert created["self"] == f"{N}/objects/Obj"
    assert created["schema"] == "/v2/schemas/metadefs/object"
    assert created["properties"] == body["properties"] and created["required"] == ["a"]
    listed = admin.get(f"{N}/objects").json
    assert listed["schema"] == "v2/schemas/metadefs/objects"  # sic, as Glance
    assert [o["name"] for o in listed["objects"]] == ["Obj"]
    resp = put(admin, f"{N}/objects/Obj", {"name": "Obj2", "description": "e"})
    assert resp.status_int == 200, resp.text
    assert resp.json["name"] == "Obj2" and "properties" not in resp.json
    assert admin.get(f"{N}/objects/Obj").status_int == 404
    assert admin.get(f"{N}/objects/Obj2").json["description"] == "e"
    assert admin.delete(f"{N}/objects/Obj2").status_int == 204
    assert admin.get(f"{N}/objects").json["objects"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "o" * 81}, 400),
        ({"name": ""}, 400),
        ({"description": "x"}, 400),
        ({"name": "o", "required": "a"}, 400),
        ({"name": "o", "required": ["a", "a"]}, 400),
        ({"name": "o", "properties": {"p": {"title": "P"}}}, 400),
        (
            {"name": "o", "properties": {"p": {"title": "P", "type": "string", "pattern": "("}}},
            400,
        ),
        (
            {"name": "o", "properties": {"p": {"title": "P", "type": "string", "maxLength": -1}}},
            400,
        ),
        ({"name": "o", "bogus": 1}, 400),
        ({"name": "o", "self": "x"}, 403),
        ({"name": "o", "created_at": "x"}, 403),
        ([], 400),
    ],
)
def test_bad_object_is_4xx_and_changes_nothing(admin, body, status):
    resp = admin.post(f"{N}/objects", body)
    assert resp.status_int == status, resp.text
    assert admin.get(f"{N}/objects").json["objects"] == []


def test_object_duplicates_and_collisions(admin):
    assert admin.post(f"{N}/objects", {"name": "A"}).status_int == 201
    assert admin.post(f"{N}/objects", {"name": "B"}).status_int == 201
    assert admin.post(f"{N}/objects", {"name": "A"}).status_int == 409
    assert put(admin, f"{N}/objects/B", {"name": "A"}).status_int == 409
    assert admin.post(f"{N}/objects", {"name": "a"}).status_int == 201  # exact names
    # the same object name in another namespace is another object
    admin.post(NS, {"namespace": "Other"})
    assert admin.post(f"{NS}/Other/objects", {"name": "A"}).status_int == 201
    assert admin.get(f"{N}/objects/missing").status_int == 404
    assert admin.get(f"{NS}/missing/objects").status_int == 404
    assert admin.get(f"{N}/objects/" + "x" * 300).status_int == 404
    assert admin.get(f"{N}/objects/%00").status_int in (400, 404)


# -- properties -----------------------------------------------------------------------------
def test_property_crud(admin):
    resp = admin.post(f"{N}/properties", PROP)
    assert resp.status_int == 201, resp.text
    assert resp.json == PROP
    assert admin.get(f"{N}/properties/hw_disk_bus").json == PROP
    listed = admin.get(f"{N}/properties").json
    assert listed == {"properties": {"hw_disk_bus": {k: v for k, v in PROP.items() if k != "name"}}}
    new = {**PROP, "name": "hw_bus", "title": "Bus"}
    resp = put(admin, f"{N}/properties/hw_disk_bus", new)
    assert resp.status_int == 200 and resp.json == new, resp.text
    assert admin.get(f"{N}/properties/hw_disk_bus").status_int == 404
    assert admin.delete(f"{N}/properties/hw_bus").status_int == 204
    assert admin.get(f"{N}/properties").json == {"properties": {}}


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t", "type": "string"},
        {"name": "p", "type": "string"},
        {"name": "p", "title": "t"},
        {"name": "p", "title": "t", "type": "str"},
        {"name": "p", "title": "t", "type": "string", "minLength": "1"},
        {"name": "p", "title": "t", "type": "array", "items": {"type": "bogus"}},
        {"name": "p", "title": "t", "type": "string", "unknown": 1},
        {"name": "p" * 81, "title": "t", "type": "string"},
        {"name": "a/b", "title": "t", "type": "string"},
        {"name": "p", "title": "t", "type": "string", "enum": "x"},
        {"name": "p", "title": 5, "type": "string"},
    ],
)
def test_bad_property_is_400_and_changes_nothing(admin, body):
    resp = admin.post(f"{N}/properties", body)
    assert resp.status_int == 400, resp.text
    assert admin.get(f"{N}/properties").json == {"properties": {}}


def test_property_shown_with_a_resource_type_prefix(admin):
    admin.post(f"{N}/resource_types", {"name": "OS::Glance::Image", "prefix": "hw_"})
    admin.post(f"{N}/resource_types", {"name": "OS::Nova::Flavor"})
    admin.post(f"{N}/properties", {**PROP, "name": "disk_bus"})
    shown = admin.get(f"{N}/properties/hw_disk_bus?resource_type=OS::Glance::Image")
    assert shown.status_int == 200 and shown.json["name"] == "disk_bus", shown.text
    for query in (
        "properties/disk_bus?resource_type=OS::Glance::Image",  # no prefix given
        "properties/hw_disk_bus?resource_type=OS::Nova::Flavor",  # that one has no prefix
        "properties/hw_disk_bus?resource_type=OS::Unknown",
    ):
        assert admin.get(f"{N}/{query}").status_int == 404, query


def test_property_duplicate_and_rename_collision(admin):
    assert admin.post(f"{N}/properties", PROP).status_int == 201
    assert admin.post(f"{N}/properties", PROP).status_int == 409
    assert admin.post(f"{N}/properties", {**PROP, "name": "other"}).status_int == 201
    assert put(admin, f"{N}/properties/other", PROP).status_int == 409
    assert admin.get(f"{N}/properties/other").json["name"] == "other"


# -- tags -----------------------------------------------------------------------------------
def test_tags(admin):
    resp = admin.post(f"{N}/tags", {"tags": [{"name": "a"}, {"name": "b"}]})
    assert resp.status_int == 201, resp.text
    assert resp.json == {"tags": [{"name": "a"}, {"name": "b"}]}
    assert admin.post(f"{N}/tags/c").status_int == 201
    assert [t["name"] for t in admin.get(f"{N}/tags").json["tags"]] == ["a", "b", "c"]
    # without X-Openstack-Append the new list replaces the old one
    admin.post(f"{N}/tags", {"tags": [{"name": "d"}]})
    assert [t["name"] for t in admin.get(f"{N}/tags").json["tags"]] == ["d"]
    resp = admin.post(
        f"{N}/tags", {"tags": [{"name": "e"}]}, headers={"X-Openstack-Append": "True"}
    )
    assert resp.status_int == 201
    assert [t["name"] for t in admin.get(f"{N}/tags").json["tags"]] == ["d", "e"]
    # appending one that is there: 409, and nothing changes
    resp = admin.post(
        f"{N}/tags",
        {"tags": [{"name": "f"}, {"name": "d"}]},
        headers={"X-Openstack-Append": "true"},
    )
    assert resp.status_int == 409, resp.text
    assert [t["name"] for t in admin.get(f"{N}/tags").json["tags"]] == ["d", "e"]
    tag = admin.get(f"{N}/tags/d").json
    assert set(tag) == {"name", "created_at", "updated_at"}
    assert put(admin, f"{N}/tags/d", {"name": "e"}).status_int == 409
    resp = put(admin, f"{N}/tags/d", {"name": "g"})
    assert resp.status_int == 200 and resp.json["name"] == "g"
    assert admin.post(f"{N}/tags/g").status_int == 409
    assert admin.delete(f"{N}/tags/g").status_int == 204
    assert admin.get(f"{N}/tags/g").status_int == 404
    assert admin.delete(f"{N}/tags").status_int == 204
    assert admin.get(f"{N}/tags").json == {"tags": []}


@pytest.mark.parametrize(
    "body",
    [
        {"tags": [{"name": "x" * 81}]},
        {"tags": [{"nam": "x"}]},
        {"tags": [{"name": "x", "extra": 1}]},
        {"tags": "x"},
        {"tags": [{"name": 5}]},
        {"tags": [{"name": ""}]},
        {"tagz": []},
    ],
)
def test_bad_tags_are_400(admin, body):
    admin.post(f"{N}/tags/keep")
    resp = admin.post(f"{N}/tags", body)
    assert resp.status_int == 400, resp.text
    assert [t["name"] for t in admin.get(f"{N}/tags").json["tags"]] == ["keep"]


@pytest.mark.parametrize("name", ["a%00b", "%F0%9F%98%80", "%ED%A0%80", "%20lead"])
def test_hostile_tag_names_in_the_path_are_4xx(admin, name):
    resp = admin.post(f"{N}/tags/{name}")
    assert 400 <= resp.status_int < 500, resp.text
    assert admin.get(f"{N}/tags").json == {"tags": []}


def test_duplicate_tags_in_one_request_are_409(admin):
    resp = admin.post(f"{N}/tags", {"tags": [{"name": "a"}, {"name": "a"}]})
    assert resp.status_int == 409
    assert admin.post(f"{N}/tags/" + "x" * 81).status_int == 400
    assert put(admin, f"{N}/tags/missing", {"name": "x"}).status_int == 404


# -- resource types -------------------------------------------------------------------------
def test_resource_type_associations(admin):
    body = {"name": "OS::Glance::Image", "prefix": "hw_", "properties_target": "image"}
    resp = admin.post(f"{N}/resource_types", body)
    assert resp.status_int == 201, resp.text
    assert {k: resp.json[k] for k in body} == body
    assert admin.post(f"{N}/resource_types", body).status_int == 409
    listed = admin.get(f"{N}/resource_types").json["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Glance::Image"]
    types = admin.get("/v2/metadefs/resource_types").json["resource_types"]
    assert [t["name"] for t in types] == ["OS::Glance::Image"]
    assert set(types[0]) == {"name", "created_at", "updated_at"}
    assert admin.delete(f"{N}/resource_types/OS::Glance::Image").status_int == 204
    assert admin.delete(f"{N}/resource_types/OS::Glance::Image").status_int == 404
    assert admin.delete(f"{N}/resource_types/Unknown").status_int == 404
    assert admin.get(f"{N}/resource_types").json == {"resource_type_associations": []}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "r" * 81}, 400),
        ({"prefix": "x"}, 400),
        ({"name": "r", "prefix": "p" * 81}, 400),
        ({"name": "r", "other": 1}, 400),
        ({"name": "r", "created_at": "x"}, 403),
        ({"name": ""}, 400),
    ],
)
def test_bad_association_is_4xx(admin, body, status):
    assert admin.post(f"{N}/resource_types", body).status_int == status
    assert admin.get("/v2/metadefs/resource_types").json["resource_types"] == []


def test_protected_namespace_contents_cannot_be_deleted(api):
    body = {
        "namespace": "P",
        "protected": True,
        "tags": [{"name": "t"}],
        "objects": [{"name": "o"}],
        "properties": {"p": {"title": "P", "type": "string"}},
        "resource_type_associations": [{"name": "R"}],
    }
    assert api.post(NS, body).status_int == 201
    for path in ("tags/t", "objects/o", "properties/p", "resource_types/R"):
        resp = api.delete(f"{NS}/P/{path}")
        assert resp.status_int == 403, (path, resp.text)
        assert "is protected and cannot be deleted" in resp.text
    shown = api.get(f"{NS}/P").json
    assert shown["tags"] and shown["objects"] and shown["properties"]
    assert shown["resource_type_associations"]


# -- who may do what ------------------------------------------------------------------------
def test_reader_reads_public_but_never_writes(admin, reader):
    admin.post(f"{N}/objects", {"name": "o"})
    admin.post(f"{N}/tags/t")
    assert reader.get(f"{N}/objects/o").status_int == 200
    assert reader.get(f"{N}/tags").status_int == 200
    assert reader.post(f"{N}/objects", {"name": "x"}).status_int == 403
    assert reader.post(f"{N}/tags/x").status_int == 403
    assert reader.delete(f"{N}/tags/t").status_int == 403
    assert reader.post(f"{N}/properties", PROP).status_int == 403
    assert reader.post(f"{N}/resource_types", {"name": "R"}).status_int == 403
    assert put(reader, f"{N}/objects/o", {"name": "y"}).status_int == 403
    assert [o["name"] for o in admin.get(f"{N}/objects").json["objects"]] == ["o"]


def test_private_namespace_contents_are_hidden(api, reader):
    api.post(NS, {"namespace": "Hidden", "owner": "p3", "tags": [{"name": "t"}]})
    for path in ("tags", "tags/t", "objects", "properties", "resource_types"):
        assert reader.get(f"{NS}/Hidden/{path}").status_int == 404
    assert reader.post(f"{NS}/Hidden/tags/x").status_int == 404


def test_an_owner_admin_of_another_project_may_not_write(api):
    api.post(NS, {"namespace": "Theirs", "owner": "p3", "visibility": "public"})
    other_admin = api.as_("p1", roles="admin")
    # Admins are administrators everywhere (Glance's metadef_admin).
    assert other_admin.post(f"{NS}/Theirs/tags/x").status_int == 201


def test_notifications(admin, notifications):
    admin.post(f"{N}/objects", {"name": "o", "properties": {"a": {"title": "A", "type": "string"}}})
    put(admin, f"{N}/objects/o", {"name": "o2"})
    admin.delete(f"{N}/objects/o2")
    admin.post(f"{N}/properties", PROP)
    admin.post(f"{N}/tags", {"tags": [{"name": "a"}, {"name": "b"}]})
    put(admin, f"{N}/tags/a", {"name": "c"})
    admin.post(f"{N}/resource_types", {"name": "R"})
    admin.delete(f"{N}/resource_types/R")
    events = [(n["event_type"], n["payload"]) for n in notifications][1:]
    assert [e for e, _ in events] == [
        "metadef_object.create", "metadef_object.update", "metadef_object.delete",
        "metadef_property.create", "metadef_tag.create", "metadef_tag.create",
        "metadef_tag.update", "metadef_resource_type.create", "metadef_resource_type.delete",
    ]  # fmt: skip
    assert events[0][1]["properties"][0]["name"] == "a"
    assert events[0][1]["properties"][0]["type"] == "string"
    assert events[1][1]["name_old"] == "o" and events[1][1]["name"] == "o2"
    assert events[2][1]["deleted"] is True
    assert events[3][1]["enum"] == ["scsi", "ide"] and events[3][1]["namespace"] == "OS::Test"
    assert events[6][1]["name_old"] == "a"
    assert events[7][1]["name"] == "R" and events[7][1]["namespace"] == "OS::Test"


# -- schemas --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("namespace", "namespace"), ("namespaces", "namespaces"), ("object", "object"),
        ("objects", "objects"), ("property", "property"), ("properties", "properties"),
        ("tag", "tag"), ("tags", "tags"), ("resource_type", "resource_type_association"),
        ("resource_types", "resource_type_associations"),
    ],
)  # fmt: skip
def test_schemas(api, path, name):
    resp = api.as_("p2", roles="reader").get(f"/v2/schemas/metadefs/{path}")
    assert resp.status_int == 200 and resp.content_type == "application/json"
    assert resp.json["name"] == name


def test_unknown_schema_is_404(api):
    assert api.get("/v2/schemas/metadefs/bogus").status_int == 404
