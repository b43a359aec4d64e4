"""``imgreg-manage import-glance`` on hostile and odd Glance databases (issue 22).

The Glance database is a real one: its schema is made once per session by Glance 33's own
``glance-manage db_sync`` (``tools/glance sync``, in the cached venv ``tools/test`` installs);
each test fills a copy of it with the rows it needs, as Glance would have written them, or as
a damaged one might hold them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from imgreg.migrate import glance_config, verify
from imgreg.migrate import run as import_run
from imgreg.migrate.glance_source import GlanceSource, open_engine
from imgreg.services import wiring
from tests.support import glance_server
from tests.support.client import Client
from tests.support.config import write_config
from tests.support.server import BIN

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
DATA = b"glance wrote these bytes\n" * 40


@pytest.fixture(scope="session")
def glance_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("glance-schema")
    glance_server.sync(state, f"sqlite:///{state}/glance.sqlite")
    return state / "glance.sqlite"


@pytest.fixture
def glance_db(glance_schema: Path, tmp_path: Path) -> str:
    path = tmp_path / "glance.sqlite"
    shutil.copy(glance_schema, path)
    return f"sqlite:///{path}"


def add_image(url: str, **row: Any) -> str:
    """An ``images`` row (and ``properties``/``members``/``locations`` lists of its rows) in
    the Glance database at ``url``, with Glance's defaults for what is not given."""
    children = {k: row.pop(k, []) for k in ("properties", "members", "locations", "tags")}
    image = {
        "id": str(uuid.uuid4()), "name": "x", "status": "queued", "visibility": "private",
        "protected": False, "os_hidden": False, "min_disk": 0, "min_ram": 0, "owner": "p1",
        "created_at": NOW, "updated_at": NOW, "deleted": False, **row,
    }  # fmt: skip
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        conn.execute(meta.tables["images"].insert(), [image])
        base = {"image_id": image["id"], "created_at": NOW, "deleted": False}
        for name, value in children["properties"]:
            row = {**base, "name": name, "value": value}
            conn.execute(meta.tables["image_properties"].insert(), [row])
        for tag in children["tags"]:
            conn.execute(meta.tables["image_tags"].insert(), [{**base, "value": tag}])
        for member, status in children["members"]:
            conn.execute(
                meta.tables["image_members"].insert(),
                [{**base, "member": member, "status": status, "can_share": False}],
            )
        for value in children["locations"]:
            conn.execute(
                meta.tables["image_locations"].insert(),
                [{**base, "value": value, "meta_data": "{}", "status": "active"}],
            )
    engine.dispose()
    return str(image["id"])


def active(url: str, store_dir: Path, **row: Any) -> str:
    """An active image whose data Glance's file store wrote into ``store_dir``."""
    image_id = str(uuid.uuid4())
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / image_id).write_bytes(DATA)
    return add_image(
        url,
        id=image_id,
        status="active",
        size=len(DATA),
        checksum=hashlib.md5(DATA, usedforsecurity=False).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(DATA).hexdigest(),
        locations=[f"file://{store_dir}/{image_id}"],
        **row,
    )


def run_import(url: str, dry_run: bool = False) -> import_run.Report:
    svc = wiring.services()
    source = GlanceSource(url)
    try:
        return import_run.run(
            source, None if dry_run else svc.db, svc.store, None, True, io.StringIO()
        )
    finally:
        source.close()


def test_odd_rows_are_reported_and_the_rest_imported(
    conf: cfg.ConfigOpts, api: Client, glance_db: str, store_dir: Path
) -> None:
    good = active(
        glance_db,
        store_dir,
        properties=[("os_distro", "cirros"), ("huge", "x" * 70000)],
        tags=["a", "b"],
        members=[("p2", "accepted"), ("p3", "maybe")],
        visibility="shared",
    )
    odd_status = add_image(glance_db, status="weird")
    odd_visibility = add_image(glance_db, visibility="everyone")
    add_image(glance_db, id="not-a-uuid")
    elsewhere = add_image(
        glance_db, status="active", size=3, locations=["swift+https://user:secret@h/v1/c/o"]
    )
    missing = str(uuid.uuid4())
    add_image(
        glance_db, id=missing, status="active", size=3, locations=[f"file://{store_dir}/{missing}"]
    )
    assert verify.shown("swift+https://tenant:key@h/v1/c/o") == "swift+https://***@h/v1/c/o"

    report = run_import(glance_db)
    skipped = dict(report.skipped)
    assert report.images == 6
    assert skipped[f"image {odd_status}"] == "unknown status weird"
    assert skipped[f"image {odd_visibility}"] == "unknown visibility everyone"
    assert skipped["image not-a-uuid"] == "its id is not a UUID"
    assert skipped[f"property huge of image {good}"] == "its value is over 65535 characters"
    assert skipped[f"member p3 of image {good}"] == "status maybe"
    assert skipped[f"location of image {elsewhere}"].startswith(
        "The location is not in any configured store."
    )
    assert "secret" not in repr(report.skipped)  # a location's credentials are not printed
    assert skipped[f"data of image {missing}"] == f"missing at file://{store_dir}/{missing}"

    shown = api.get(f"/v2/images/{good}").json
    assert (shown["status"], shown["os_distro"], sorted(shown["tags"])) == (
        "active", "cirros", ["a", "b"]
    )  # fmt: skip
    assert "huge" not in shown
    assert shown["created_at"] == "2026-01-02T03:04:05Z"
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert api.get(f"/v2/images/{good}/file").body == DATA
    members = api.get(f"/v2/images/{good}/members").json["members"]
    assert [(m["member_id"], m["status"]) for m in members] == [("p2", "accepted")]
    assert api.get(f"/v2/images/{odd_status}").status_int == 404


def test_an_ownerless_image_is_nobodys(
    conf: cfg.ConfigOpts, api: Client, glance_db: str, store_dir: Path
) -> None:
    """Glance rows with a NULL owner: a caller whose project is missing too gets nothing."""
    private = active(glance_db, store_dir, owner=None)
    assert run_import(glance_db).skipped == []
    base = {"X-Identity-Status": "Confirmed", "X-User-Id": "u", "X-Roles": "member,reader"}
    for headers in ({}, {"X-Project-Id": ""}, {"X-Project-Id": "p1"}):
        caller = Client(api.app, {**base, **headers})
        assert caller.get(f"/v2/images/{private}").status_int == 404
        assert caller.get(f"/v2/images/{private}/file").status_int == 404
        resp = caller.request("DELETE", f"/v2/images/{private}")
        assert resp.status_int in (403, 404)
    assert api.get(f"/v2/images/{private}").json["owner"] is None


def test_rerun_and_dry_run_change_nothing(
    conf: cfg.ConfigOpts, api: Client, glance_db: str, store_dir: Path
) -> None:
    image_id = active(glance_db, store_dir, properties=[("a", "1")])
    dry = run_import(glance_db, dry_run=True)
    assert (dry.images, dry.created) == (1, 0)
    assert api.get(f"/v2/images/{image_id}").status_int == 404
    first = run_import(glance_db)
    etag = api.get(f"/v2/images/{image_id}").headers["ETag"]
    second = run_import(glance_db)
    assert (first.created, second.created, second.updated, second.unchanged) == (1, 0, 0, 1)
    assert api.get(f"/v2/images/{image_id}").headers["ETag"] == etag


def test_the_glance_database_is_opened_read_only(glance_db: str, store_dir: Path) -> None:
    add_image(glance_db)
    engine = open_engine(glance_db)
    try:
        with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM images"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--glance-connection", "not a url:secret@"], "is not a database URL"),
        (["--glance-connection", "sqlite:////nonexistent/dir/glance.sqlite"], "cannot read"),
        (["--glance-connection", "GLANCE", "--since", "yesterday"], "not an ISO 8601 time"),
        (["--glance-connection", "OTHER"], "not a Glance database"),
    ],
)
def test_bad_arguments_exit_2_without_a_traceback(
    tmp_path: Path, glance_db: str, args: list[str], message: str
) -> None:
    other = tmp_path / "other.sqlite"
    sa.create_engine(f"sqlite:///{other}").connect().exec_driver_sql("CREATE TABLE t (x)").close()
    args = [a.replace("GLANCE", glance_db).replace("OTHER", f"sqlite:///{other}") for a in args]
    conf = write_config(tmp_path / "etc", f"sqlite:///{tmp_path}/imgreg.sqlite", tmp_path / "img")
    result = subprocess.run(
        [str(BIN / "imgreg-manage"), "--config-file", str(conf), "import-glance", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def add_task(url: str, **row: Any) -> str:
    info = {k: row.pop(k) for k in ("input", "result", "message") if k in row}
    task = {
        "id": str(uuid.uuid4()), "type": "api_image_import", "status": "success",
        "owner": "p1", "created_at": NOW, "updated_at": NOW, "deleted": False,
        "expires_at": dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=2), **row,
    }  # fmt: skip
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        conn.execute(meta.tables["tasks"].insert(), [task])
        conn.execute(meta.tables["task_info"].insert(), [{"task_id": task["id"], **info}])
    engine.dispose()
    return str(task["id"])


def test_tasks_still_of_interest_are_imported(
    conf: cfg.ConfigOpts, api: Client, glance_db: str, store_dir: Path
) -> None:
    image_id = active(glance_db, store_dir)
    done = add_task(
        glance_db,
        image_id=image_id,
        input=json.dumps({"image_id": image_id}),
        result=json.dumps({"image_id": image_id}),
        message="",
    )
    add_task(glance_db, deleted=True, deleted_at=NOW)  # expired: Glance deleted it
    odd = add_task(glance_db, status="half-done")

    report = run_import(glance_db)
    assert report.tasks == 1
    assert dict(report.skipped) == {f"task {odd}": "unknown status half-done"}
    resp = api.get(f"/v2/tasks/{done}")
    assert resp.status_int == 200, resp.text
    shown = resp.json
    assert (shown["status"], shown["owner"], shown["result"]) == (
        "success", "p1", {"image_id": image_id}
    )  # fmt: skip
    assert shown["created_at"] == "2026-01-02T03:04:05Z"
    assert run_import(glance_db).tasks_written == (0, 0, 1)  # a re-run changes nothing


@pytest.mark.parametrize("layout", ["single", "enabled_backends"])
def test_glance_config_file_stores_are_checked(
    conf: cfg.ConfigOpts, tmp_path: Path, store_dir: Path, layout: str
) -> None:
    def glance_conf(datadir: Path) -> str:
        path = tmp_path / f"glance-api-{layout}.conf"
        if layout == "single":
            text = f"[glance_store]\ndefault_store = file\nfilesystem_store_datadir = {datadir}/\n"
        else:
            text = (
                "[DEFAULT]\nenabled_backends = fs:file, cold:swift\n"
                "[glance_store]\ndefault_backend = fs\n"
                f"[fs]\nfilesystem_store_datadir = {datadir}\n"
            )
        path.write_text(text)
        return str(path)

    stores = wiring.services().store
    assert glance_config.problems(glance_conf(store_dir), stores) == []
    elsewhere = tmp_path / "other-images"
    name = "file" if layout == "single" else "fs"
    assert glance_config.problems(glance_conf(elsewhere), stores) == [
        f"Glance file store {name}: no imgreg file store has filesystem_store_datadir = "
        f"{elsewhere}{'/' if layout == 'single' else ''}"
    ]


MD = "/v2/metadefs/namespaces"
OBJECT_SCHEMA = {"cpu": {"type": "integer", "title": "CPUs", "minimum": 1}}
PROP_SCHEMA = {"type": "string", "title": "Mode", "enum": ["a", "b"]}


def add_namespace(url: str, name: str, **row: Any) -> int:
    """A ``metadef_namespaces`` row with, unless told otherwise, one object, one property, one
    tag and an association with ``OS::Glance::Image``, as Glance's API writes them (JSON as
    text, an object's ``required`` names joined with commas); ``objects``, ``properties``,
    ``tags``, ``types`` replace those."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    stamps = {"created_at": row.pop("created_at", NOW), "updated_at": row.pop("updated_at", NOW)}
    objects = row.pop("objects", [("Obj", json.dumps(OBJECT_SCHEMA), "cpu,ram")])
    properties = row.pop("properties", [("mode", json.dumps(PROP_SCHEMA))])
    tags = row.pop("tags", ["Tag1"])
    types = row.pop("types", [("OS::Glance::Image", "hw_", None)])
    ns = {"namespace": name, "display_name": name.title(), "description": "theirs",
          "visibility": "public", "protected": False, "owner": "p1", **stamps, **row}  # fmt: skip
    with engine.begin() as conn:
        ns_id = conn.execute(t["metadef_namespaces"].insert(), [ns]).inserted_primary_key[0]
        base = {"namespace_id": ns_id, **stamps}
        for obj_name, schema, required in objects:
            conn.execute(
                t["metadef_objects"].insert(),
                [{**base, "name": obj_name, "description": "o", "json_schema": schema,
                  "required": required}],
            )  # fmt: skip
        for prop_name, schema in properties:
            conn.execute(
                t["metadef_properties"].insert(),
                [{**base, "name": prop_name, "json_schema": schema}],
            )
        for tag in tags:
            conn.execute(t["metadef_tags"].insert(), [{**base, "name": tag}])
        for type_name, prefix, target in types:
            rtypes = t["metadef_resource_types"]
            type_id = conn.scalar(sa.select(rtypes.c.id).where(rtypes.c.name == type_name))
            if type_id is None:
                type_id = conn.execute(
                    rtypes.insert(), [{"name": type_name, "protected": True, **stamps}]
                ).inserted_primary_key[0]
            conn.execute(
                t["metadef_namespace_resource_types"].insert(),
                [{**base, "resource_type_id": type_id, "prefix": prefix,
                  "properties_target": target}],
            )  # fmt: skip
    engine.dispose()
    return int(ns_id)


def test_metadef_namespaces_are_imported_as_glance_has_them(
    conf: cfg.ConfigOpts, api: Client, glance_db: str
) -> None:
    """Every visibility, with its contents; a same-named namespace in imgreg takes Glance's."""
    add_namespace(glance_db, "Ops::Public")
    add_namespace(glance_db, "Ops::Private", visibility="private", protected=True, owner="p2")
    # as ``imgreg-manage db load_metadefs`` would have left it, with other contents
    gone = {"gone": {"type": "string", "title": "G"}}
    body = {"namespace": "Ops::Public", "description": "catalog", "visibility": "public",
            "tags": [{"name": "Old"}], "properties": gone}  # fmt: skip
    assert api.post(MD, body).status_int == 201
    report = run_import(glance_db)
    assert report.skipped == []
    lines = report.lines(False)
    assert "metadef namespaces: 1 created, 1 updated, 0 unchanged" in lines
    assert "metadef tags: 2 created, 0 updated, 0 unchanged" in lines  # and "Old" removed
    assert "metadef resource types: 1 created, 0 updated, 0 unchanged" in lines  # named twice
    for name, visibility, owner, protected in (
        ("Ops::Public", "public", "p1", False),
        ("Ops::Private", "private", "p2", True),
    ):
        shown = api.get(f"{MD}/{name}").json
        assert {k: shown[k] for k in ("namespace", "display_name", "description")} == {
            "namespace": name, "display_name": name.title(), "description": "theirs"
        }  # fmt: skip
        assert (shown["visibility"], shown["owner"], shown["protected"]) == (
            visibility, owner, protected
        )  # fmt: skip
        assert shown["created_at"] == shown["updated_at"] == "2026-01-02T03:04:05Z"
        assert shown["properties"] == {"mode": PROP_SCHEMA}
        assert [t["name"] for t in shown["tags"]] == ["Tag1"]
        obj = api.get(f"{MD}/{name}/objects/Obj").json
        assert (obj["properties"], obj["required"], obj["description"]) == (
            OBJECT_SCHEMA, ["cpu", "ram"], "o"
        )  # fmt: skip
        assocs = api.get(f"{MD}/{name}/resource_types").json["resource_type_associations"]
        assert [(a["name"], a["prefix"], a.get("properties_target")) for a in assocs] == [
            ("OS::Glance::Image", "hw_", None)
        ]
    # the private one is its owner's only
    assert api.as_("p2", roles="reader,member").get(f"{MD}/Ops::Private").status_int == 200
    assert api.as_("p1", roles="reader,member").get(f"{MD}/Ops::Private").status_int == 404


def test_metadef_rerun_dry_run_and_since(conf: cfg.ConfigOpts, api: Client, glance_db: str) -> None:
    add_namespace(glance_db, "Ops::A")
    dry = run_import(glance_db, dry_run=True)
    assert dry.namespaces == 1 and dry.namespaces_written is None
    assert api.get(f"{MD}/Ops::A").status_int == 404
    first = run_import(glance_db).lines(False)
    assert "metadef objects: 1 created, 0 updated, 0 unchanged" in first
    shown = api.get(f"{MD}/Ops::A").json
    again = run_import(glance_db).lines(False)
    for kind in ("namespaces", "objects", "properties", "tags", "resource type associations"):
        assert f"metadef {kind}: 0 created, 0 updated, 1 unchanged" in again
    assert api.get(f"{MD}/Ops::A").json == shown
    later = NOW + dt.timedelta(days=1)
    add_namespace(glance_db, "Ops::B", created_at=later, updated_at=later, types=[])
    svc = wiring.services()
    source = GlanceSource(glance_db)
    try:
        since = import_run.run(source, svc.db, svc.store, later, False, io.StringIO())
    finally:
        source.close()
    assert since.namespaces == 1
    assert "metadef namespaces: 1 created, 0 updated, 0 unchanged" in since.lines(False)
    assert api.get(f"{MD}/Ops::B").json["namespace"] == "Ops::B"


def test_odd_metadef_rows_are_skipped_with_the_reason(
    conf: cfg.ConfigOpts, api: Client, glance_db: str
) -> None:
    add_namespace(glance_db, "Ops::Odd", visibility="shared")
    add_namespace(glance_db, "N" * 80, display_name="d" * 81)
    add_namespace(
        glance_db,
        "Ops::Mixed",
        objects=[("Bad", "{not json", None), ("Good", "{}", None)],
        properties=[("bad", "[1]"), ("good", json.dumps(PROP_SCHEMA))],
        tags=["T" * 80],
    )
    report = run_import(glance_db)
    assert sorted(report.skipped) == sorted(
        [
            ("metadef namespace Ops::Odd", "unknown visibility shared"),
            (f"metadef namespace {'N' * 80}", "its display_name is over 80 characters"),
            ("metadef object Bad of Ops::Mixed", "its json_schema is not a JSON object"),
            ("metadef property bad of Ops::Mixed", "its json_schema is not a JSON object"),
        ]
    )
    assert api.get(f"{MD}/Ops::Odd").status_int == 404
    shown = api.get(f"{MD}/Ops::Mixed").json
    assert list(shown["properties"]) == ["good"]
    assert [o["name"] for o in shown["objects"]] == ["Good"]
    assert [t["name"] for t in shown["tags"]] == ["T" * 80]


def test_an_ownerless_metadef_namespace_is_nobodys(
    conf: cfg.ConfigOpts, api: Client, glance_db: str
) -> None:
    """Glance's owner column is NOT NULL; an empty one is imported as no owner, and a caller
    whose project is missing (or empty) is not taken for its owner."""
    add_namespace(glance_db, "Ops::Nobody", visibility="private", owner="")
    assert run_import(glance_db).skipped == []
    assert api.get(f"{MD}/Ops::Nobody").json.get("owner") is None
    base = {"X-Identity-Status": "Confirmed", "X-User-Id": "u", "X-Roles": "member,reader"}
    for headers in ({}, {"X-Project-Id": ""}, {"X-Project-Id": "p1"}):
        caller = Client(api.app, {**base, **headers})
        assert caller.get(f"{MD}/Ops::Nobody").status_int == 404
        assert caller.get(f"{MD}/Ops::Nobody/objects/Obj").status_int == 404
        listed = caller.get(MD)  # policy refuses a caller without a project the list
        assert listed.status_int == 403 or "Ops::Nobody" not in {
            n["namespace"] for n in listed.json["namespaces"]
        }
        assert caller.request("DELETE", f"{MD}/Ops::Nobody").status_int in (403, 404)
