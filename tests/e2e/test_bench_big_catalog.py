"""``tools/bench --catalog`` into Glance's tables and ``--compare … --big-catalog`` (issue 24).

A real Glance 33 (``tools/glance``: its own ``db_sync`` and uWSGI) and the e2e imgreg-api,
each over the same seeded catalog of 1,000 images loaded in bulk, benchmarked side by side
with ``--quick``, as a member of one of the catalog's projects. It proves the loader and the
phases work; it asserts no timing (the figures are in docs/performance.md).

tools/test's first pass only (SQLite): the loader's PostgreSQL and MariaDB paths (COPY, LOAD
DATA) load the catalog of tests/unit/db/test_list_plans.py in those passes, and the phases
speak only HTTP.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import glance_server

ROOT = Path(__file__).resolve().parents[2]
IMAGES = 1000  # enough public images (about 34) for a full page of the public list
PROJECT = "project-000007"
pytestmark = pytest.mark.first_pass

MEASURED = ("big_list25", "big_deep", "big_public", "big_name", "big_show", "big_patch")


def benchlib(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A module of tools/benchlib, imported as tools/bench runs it (from tools/)."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    return importlib.import_module(f"benchlib.{name}")


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("images", "image_properties", "image_tags", "image_members")
            }
    finally:
        engine.dispose()


def expected_rows(catalog_mod: Any) -> dict[str, int]:
    counts = dict.fromkeys(catalog_mod.TABLES, 0)
    for chunk in catalog_mod.Catalog(IMAGES).chunks():
        for table in counts:
            counts[table] += len(chunk[table])
    return counts


@pytest.mark.e2e
def test_glance_schema_load_and_big_catalog_phases(
    server: Any, clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = benchlib("catalog", monkeypatch)
    want = expected_rows(catalog)
    assert want["images"] == IMAGES and want["image_members"] > 0

    state = tmp_path / "glance"
    glance_url = f"sqlite:///{state}/glance.sqlite"
    glance_server.sync(state, glance_url)
    loaded = catalog.load_catalog(glance_url, IMAGES)  # the schema told from the tables
    assert loaded["schema"] == "glance"
    assert loaded["rows"] == want
    assert row_counts(glance_url) == want
    engine = sa.create_engine(glance_url)
    try:
        with engine.connect() as conn:
            # the children of a deleted image are deleted with it, as Glance leaves them
            alive = conn.execute(
                sa.text(
                    "SELECT count(*) FROM image_properties p JOIN images i ON i.id = p.image_id"
                    " WHERE p.deleted != i.deleted"
                )
            ).scalar_one()
            # SQLAlchemy's own format, or a marker's created_at would equal no row
            created = conn.execute(sa.text("SELECT created_at FROM images LIMIT 1")).scalar_one()
    finally:
        engine.dispose()
    assert alive == 0
    assert len(created) == len("2020-01-01 00:00:00.000000"), created

    mine = catalog.load_catalog(clean_db, IMAGES)
    assert mine["schema"] == "imgreg"
    assert row_counts(clean_db) == want

    out = tmp_path / "big.json"
    with glance_server.running(state, glance_url) as glance:
        headers = [
            "X-Identity-Status: Confirmed",
            "X-Roles: member,reader",
            f"X-Project-Id: {PROJECT}",
            "X-User-Id: bench",
        ]
        argv = ["--compare", server.url, glance.url, "--big-catalog", "--quick"]
        argv += ["--name-a", "imgreg", "--name-b", "glance", "--json", str(out)]
        argv += ["--pids-a", str(server.pid), "--pids-b", str(glance.process.pid)]
        for header in headers:
            argv += ["--header", header]
        proc = subprocess.run(
            [sys.executable, "-m", "benchlib", *argv],
            cwd=ROOT / "tools",
            env={**os.environ, "PYTHONPATH": str(ROOT / "tools")},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    report = json.loads(out.read_text())
    assert report["errors"] == [] and report["aborted"] is None
    setups = []
    for target in report["targets"]:
        results = target["results"]
        setups.append({k: v for k, v in results["bigsetup"].items() if k != "loadavg_1m"})
        for phase in MEASURED:
            for conc in ("c1", "c16"):
                run = results[phase][conc]
                assert run["requests"] > 0 and run["errors"] == 0, (target["label"], phase, conc)
                assert run["cpu_ms_per_req"] is not None, (target["label"], phase, conc)
    # the same catalog behind both: the same images to PATCH and show, the same deep page
    assert setups[0] == setups[1]
    assert setups[0]["owned"] > 50 and setups[0]["deep_page"] > 1
    for label in ("image GET c16 server CPU", "PATCH /name c1 p99", "list name:asc, 25 c16 req/s"):
        assert label in proc.stdout
