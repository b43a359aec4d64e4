"""Acceptance: every ``glance md-*`` command and ``openstack image metadef …`` against a live
``imgreg-api``, as an administrator (``--os-auth-token`` / ``--os-auth-type none`` skip
Keystone), checking what they print and what the server then holds.

About a minute of CLI runs (a Python start-up each): it runs in tools/test's first pass only
(SQLite, ``first_pass``). What the database does with metadefs (namespaces, objects,
properties, tags, resource types: uniqueness, cascades, visibility, names compared by each
engine's collation) is tested on every engine by ``tests/functional/test_metadef_*.py``, and
the CLIs still meet a server on every engine in ``test_keystone.py``
(``test_metadef_clis_with_keystone``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import api_get, fails, ok, properties, rows, run_cli
from tests.support.server import BIN

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]
NS = "/v2/metadefs/namespaces"


def shown(server: Any, path: str) -> Any:
    resp = api_get(server, path)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_glance_md_namespaces_objects_properties_tags(server, tmp_path: Path):
    created = ok(server, "md-namespace-create", "OS::E2E", "--display-name", "E2E",
                 "--description", "d", "--visibility", "public", "--protected", "True")  # fmt: skip
    out = properties(created)
    assert out["namespace"] == "OS::E2E" and out["visibility"] == "public"
    assert out["protected"] == "True"
    assert "OS::E2E" in [r[0] for r in rows(ok(server, "md-namespace-list"))]
    out = properties(ok(server, "md-namespace-update", "OS::E2E", "--description", "e",
                        "--protected", "False"))  # fmt: skip
    assert out["description"] == "e"

    # resource types
    ok(server, "md-resource-type-associate", "OS::E2E", "--name", "OS::Glance::Image",
       "--prefix", "hw_")  # fmt: skip
    assert [r[0] for r in rows(ok(server, "md-resource-type-list"))] == ["OS::Glance::Image"]
    listed = rows(ok(server, "md-namespace-resource-type-list", "OS::E2E"))
    assert listed[0][0] == "OS::Glance::Image" and "hw_" in listed[0]

    # properties
    schema = json.dumps({"enum": ["virtio", "scsi"]})
    out = properties(ok(server, "md-property-create", "OS::E2E", "--name", "disk_bus",
                        "--title", "Disk bus", "--type", "string", "--schema", schema))  # fmt: skip
    assert out["name"] == "disk_bus" and out["title"] == "Disk bus"
    assert [r[0] for r in rows(ok(server, "md-property-list", "OS::E2E"))] == ["disk_bus"]
    assert properties(ok(server, "md-property-show", "OS::E2E", "disk_bus"))["type"] == "string"
    ok(server, "md-property-update", "OS::E2E", "disk_bus", "--title", "Bus")
    assert shown(server, f"{NS}/OS::E2E/properties/disk_bus")["title"] == "Bus"

    # objects
    obj = json.dumps({"description": "o", "required": ["cpus"],
                      "properties": {"cpus": {"title": "CPUs", "type": "integer"}}})  # fmt: skip
    out = properties(ok(server, "md-object-create", "OS::E2E", "--name", "Flavor",
                        "--schema", obj))  # fmt: skip
    assert out["name"] == "Flavor"
    assert [r[0] for r in rows(ok(server, "md-object-list", "OS::E2E"))] == ["Flavor"]
    assert properties(ok(server, "md-object-show", "OS::E2E", "Flavor"))["name"] == "Flavor"
    prop = properties(ok(server, "md-object-property-show", "OS::E2E", "Flavor", "cpus"))
    assert prop["title"] == "CPUs"
    ok(server, "md-object-update", "OS::E2E", "Flavor", "--name", "Flavor2")
    assert shown(server, f"{NS}/OS::E2E/objects/Flavor2")["required"] == ["cpus"]

    # tags
    # (glanceclient's --append sends the header as a bool and fails before sending; the
    # header itself is tested in tests/functional/test_metadef_contents.py)
    ok(server, "md-tag-create", "OS::E2E", "--name", "t0")
    ok(server, "md-tag-create-multiple", "OS::E2E", "--names", "t2,t3")  # replaces t0
    ok(server, "md-tag-create", "OS::E2E", "--name", "t1")
    assert [r[0] for r in rows(ok(server, "md-tag-list", "OS::E2E"))] == ["t1", "t2", "t3"]
    assert properties(ok(server, "md-tag-show", "OS::E2E", "t2"))["name"] == "t2"
    ok(server, "md-tag-update", "OS::E2E", "t2", "--name", "t4")
    ok(server, "md-tag-delete", "OS::E2E", "t4")
    assert [t["name"] for t in shown(server, f"{NS}/OS::E2E/tags")["tags"]] == ["t1", "t3"]

    # the whole namespace shown, with what it holds and the prefix applied
    detail = ok(server, "md-namespace-show", "OS::E2E", "--resource-type", "OS::Glance::Image")
    assert "hw_disk_bus" in detail and "Flavor2" in detail

    # the bulk deletes, then the pieces
    ok(server, "md-namespace-tags-delete", "OS::E2E")
    ok(server, "md-namespace-objects-delete", "OS::E2E")
    ok(server, "md-namespace-properties-delete", "OS::E2E")
    ns = shown(server, f"{NS}/OS::E2E")
    assert not {"tags", "objects", "properties"} & set(ns)
    ok(server, "md-resource-type-deassociate", "OS::E2E", "OS::Glance::Image")
    ok(server, "md-property-create", "OS::E2E", "--name", "p", "--title", "P", "--type",
       "string", "--schema", "{}")  # fmt: skip
    ok(server, "md-property-delete", "OS::E2E", "p")
    ok(server, "md-object-create", "OS::E2E", "--name", "o", "--schema", "{}")
    ok(server, "md-object-delete", "OS::E2E", "o")
    ok(server, "md-namespace-delete", "OS::E2E")
    assert api_get(server, f"{NS}/OS::E2E").status_code == 404

    # import from a file, in Glance's definition format
    path = tmp_path / "ns.json"
    path.write_text(json.dumps({"namespace": "OS::Imported", "display_name": "Imported",
                                "properties": {"x": {"title": "X", "type": "string"}},
                                "objects": [{"name": "O", "properties": {}}]}))  # fmt: skip
    ok(server, "md-namespace-import", "--file", str(path))
    imported = shown(server, f"{NS}/OS::Imported")
    assert set(imported["properties"]) == {"x"} and imported["objects"][0]["name"] == "O"


def test_glance_md_errors(server):
    assert "404" in fails(server, "md-namespace-show", "OS::Missing")
    ok(server, "md-namespace-create", "OS::Once")
    assert "409" in fails(server, "md-namespace-create", "OS::Once")
    ok(server, "md-namespace-update", "OS::Once", "--protected", "True")
    assert "403" in fails(server, "md-namespace-delete", "OS::Once")
    assert shown(server, f"{NS}/OS::Once")["protected"] is True


def openstack(server: Any, *args: str) -> Any:
    command = [str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint", server.url]
    result = run_cli(server, [*command, "image", "metadef", *args])
    assert result.returncode == 0, (
        f"openstack image metadef {args}:\n{result.stdout}{result.stderr}"
    )
    return json.loads(result.stdout) if "json" in args else result.stdout


def test_openstack_image_metadef(server):
    J = ("-f", "json")
    made = openstack(server, "namespace", "create", "OS::OSC", "--display-name", "OSC",
                     "--public", "--protected", *J)  # fmt: skip
    assert made["namespace"] == "OS::OSC" and made["visibility"] == "public"
    listed = openstack(server, "namespace", "list", *J)
    assert "OS::OSC" in [n["namespace"] for n in listed]
    openstack(server, "namespace", "set", "OS::OSC", "--description", "desc", "--unprotected")
    assert openstack(server, "namespace", "show", "OS::OSC", *J)["description"] == "desc"

    openstack(server, "resource", "type", "association", "create", "OS::OSC", "OS::Nova::Flavor",
              "--prefix", "hw:")  # fmt: skip
    assoc = openstack(server, "resource", "type", "association", "list", "OS::OSC", *J)
    assert [a["Name"] for a in assoc] == ["OS::Nova::Flavor"]
    types = openstack(server, "resource", "type", "list", *J)
    assert "OS::Nova::Flavor" in [t["Name"] for t in types]

    prop = openstack(server, "property", "create", "OS::OSC", "--name", "cpu_policy",
                     "--title", "CPU policy", "--type", "string",
                     "--schema", json.dumps({"enum": ["shared", "dedicated"]}), *J)  # fmt: skip
    assert prop["name"] == "cpu_policy"
    assert [p["name"] for p in openstack(server, "property", "list", "OS::OSC", *J)] == [
        "cpu_policy"
    ]
    openstack(server, "property", "set", "OS::OSC", "cpu_policy", "--title", "Policy")
    assert openstack(server, "property", "show", "OS::OSC", "cpu_policy", *J)["title"] == "Policy"

    obj = openstack(server, "object", "create", "--namespace", "OS::OSC", "Thing", *J)
    assert obj["name"] == "Thing"
    assert [o["name"] for o in openstack(server, "object", "list", "OS::OSC", *J)] == ["Thing"]
    openstack(server, "object", "update", "OS::OSC", "Thing", "--name", "Thing2")
    assert openstack(server, "object", "show", "OS::OSC", "Thing2", *J)["name"] == "Thing2"

    openstack(server, "object", "delete", "OS::OSC", "Thing2")
    openstack(server, "property", "delete", "OS::OSC", "cpu_policy")
    openstack(server, "resource", "type", "association", "delete", "OS::OSC", "OS::Nova::Flavor")
    ns = shown(server, f"{NS}/OS::OSC")
    assert not {"objects", "properties", "resource_type_associations"} & set(ns)
    openstack(server, "namespace", "delete", "OS::OSC")
    assert api_get(server, f"{NS}/OS::OSC").status_code == 404
