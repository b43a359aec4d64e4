"""Glance's catalog of metadata definitions (the 32 files of the published glance wheel,
fetched by ``tools/metadefs-catalog`` into a cache outside the repository) loaded with
``imgreg-manage db load_metadefs`` and read back through the API; the load modes, unload,
export, and files that must not load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from imgreg.db.metadefs import catalog as metadef_catalog
from imgreg.db.session import Database
from imgreg.domain import errors
from tests.support.config import ROOT

NS = "/v2/metadefs/namespaces"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def catalog_dir() -> Path:
    out = subprocess.run(
        [str(ROOT / "tools" / "metadefs-catalog")],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return Path(out.stdout.strip().splitlines()[-1])


def catalog(directory: Path) -> dict[str, dict[str, Any]]:
    files = sorted(directory.glob("*.json"))
    return {body["namespace"]: body for body in (json.loads(f.read_text()) for f in files)}


class Manage:
    """The real ``imgreg-manage`` on the test's configuration."""

    def __init__(self, conf) -> None:
        self.conf_file = conf.config_file[0]
        self.out = self.err = ""

    def __call__(self, *args: str) -> int:
        done = subprocess.run(
            [str(BIN / "imgreg-manage"), "--config-file", self.conf_file, "db", *args],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        self.out, self.err = done.stdout, done.stderr
        return done.returncode


@pytest.fixture
def run_manage(conf) -> Manage:
    return Manage(conf)


def expected_view(body: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a definition file's namespace (defaults filled in)."""
    view = {
        "namespace": body["namespace"],
        "display_name": body.get("display_name"),
        "description": body.get("description"),
        "visibility": body.get("visibility") or "private",
        "protected": bool(body.get("protected")),
        "owner": body.get("owner", "admin"),
        "properties": body.get("properties") or None,
        "objects": sorted(
            ({k: v for k, v in o.items() if v not in (None, {})} for o in body.get("objects", [])),
            key=lambda o: o["name"],
        )
        or None,
        "resource_type_associations": sorted(
            body.get("resource_type_associations", []), key=lambda a: a["name"]
        )
        or None,
    }
    return {k: v for k, v in view.items() if v is not None}


def shown_view(shown: dict[str, Any]) -> dict[str, Any]:
    stamps = {"created_at", "updated_at", "self", "schema"}
    view = {k: v for k, v in shown.items() if k not in stamps}
    if "objects" in view:
        view["objects"] = [{k: v for k, v in o.items() if k not in stamps} for o in view["objects"]]
    if "resource_type_associations" in view:
        view["resource_type_associations"] = [
            {k: v for k, v in a.items() if k not in stamps}
            for a in view["resource_type_associations"]
        ]
    return view


def test_whole_catalog_reads_back_identical(run_manage, api, catalog_dir):
    files = catalog(catalog_dir)
    assert len(files) == 32
    assert run_manage("load_metadefs", "--path", str(catalog_dir)) == 0
    assert run_manage.out.count("loaded ") == 32, run_manage.err
    listed = api.get(f"{NS}?limit=100").json["namespaces"]
    assert sorted(n["namespace"] for n in listed) == sorted(files)
    for name, body in files.items():
        shown = api.get(f"{NS}/{name}")
        assert shown.status_int == 200, (name, shown.text)
        assert shown_view(shown.json) == expected_view(body), name
    types = {t["name"] for t in api.get("/v2/metadefs/resource_types").json["resource_types"]}
    wanted = {a["name"] for b in files.values() for a in b["resource_type_associations"]}
    assert types == wanted
    # Seeded definitions are protected where the file says so: the API refuses to delete.
    assert api.delete(f"{NS}/OS::Compute::Libvirt").status_int == 403


def load(url: str, path: Path, **mode: bool) -> tuple[list[str], list[str]]:
    db = Database(url)
    try:
        return metadef_catalog.load(db, str(path), metadef_catalog.LoadMode(**mode))
    finally:
        db.dispose()


def test_load_again_skips_merge_adds_prefer_new_rewrites(clean_db, api, tmp_path):
    src = tmp_path / "defs"
    src.mkdir()
    base = {
        "namespace": "OS::T",
        "display_name": "T",
        "description": "one",
        "visibility": "public",
        "properties": {"a": {"title": "A", "type": "string"}},
    }
    (src / "t.json").write_text(json.dumps(base))
    assert load(clean_db, src) == (["loaded OS::T"], [])
    mine = {"name": "a", "title": "Mine", "type": "string"}
    assert api.request("PUT", f"{NS}/OS::T/properties/a", body=mine).status_int == 200
    changed = {
        **base,
        "description": "two",
        "properties": {
            "a": {"title": "A2", "type": "string"},
            "b": {"title": "B", "type": "integer"},
        },
    }
    (src / "t.json").write_text(json.dumps(changed))
    assert load(clean_db, src) == (["skipped OS::T: it already exists"], [])
    assert set(api.get(f"{NS}/OS::T").json["properties"]) == {"a"}
    assert load(clean_db, src, merge=True) == (["merged OS::T"], [])
    shown = api.get(f"{NS}/OS::T").json
    assert shown["description"] == "one" and shown["properties"]["a"]["title"] == "Mine"
    assert set(shown["properties"]) == {"a", "b"}
    load(clean_db, src, merge=True, prefer_new=True)
    shown = api.get(f"{NS}/OS::T").json
    assert shown["description"] == "two" and shown["properties"]["a"]["title"] == "A2"
    api.post(f"{NS}/OS::T/tags/extra")
    load(clean_db, src, merge=True, overwrite=True)
    assert "tags" not in api.get(f"{NS}/OS::T").json
    with pytest.raises(errors.Invalid):
        load(clean_db, src, merge=True, prefer_new=True, overwrite=True)


def test_cli_refuses_flags_without_merge(run_manage, tmp_path):
    assert run_manage("load_metadefs", "--path", str(tmp_path), "--prefer_new") == 1
    assert "--merge" in run_manage.err


@pytest.mark.parametrize(
    "content",
    [
        "{",
        "[]",
        json.dumps({"display_name": "no namespace"}),
        json.dumps({"namespace": "x" * 81}),
        json.dumps({"namespace": "N", "properties": {"p": {"title": "P"}}}),
        json.dumps({"namespace": "N", "properties": {"p" * 81: {"title": "P", "type": "string"}}}),
        json.dumps({"namespace": "N", "objects": [{"description": "no name"}]}),
        json.dumps({"namespace": "N", "resource_type_associations": [{"name": "r" * 81}]}),
        json.dumps({"namespace": "N", "tags": [{"name": "a/b"}]}),
    ],
)
def test_bad_file_loads_nothing_and_others_still_load(clean_db, api, tmp_path, content):
    src = tmp_path / "defs"
    src.mkdir()
    (src / "a-bad.json").write_text(content)
    (src / "b-good.json").write_text(json.dumps({"namespace": "Good"}))
    done, failed = load(clean_db, src)
    assert done == ["loaded Good"]
    assert len(failed) == 1 and "a-bad.json" in failed[0]
    assert [n["namespace"] for n in api.get(NS).json["namespaces"]] == ["Good"]


def test_unload_and_export_round_trip(run_manage, api, catalog_dir, tmp_path):
    assert run_manage("load_metadefs", "--path", str(catalog_dir)) == 0
    before = {n: api.get(f"{NS}/{n}").json for n in catalog(catalog_dir)}
    out = tmp_path / "exported"
    assert run_manage("export_metadefs", "--path", str(out)) == 0
    assert len(list(out.glob("*.json"))) == 32
    assert run_manage("unload_metadefs") == 0
    assert api.get(NS).json["namespaces"] == []
    assert api.get("/v2/metadefs/resource_types").json["resource_types"] == []
    assert run_manage("load_metadefs", "--path", str(out)) == 0
    for name, shown in before.items():
        assert shown_view(api.get(f"{NS}/{name}").json) == shown_view(shown), name
