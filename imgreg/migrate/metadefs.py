"""Glance's metadata definitions: every namespace (the operator's own and those of Glance's
shipped catalog), with its objects, properties, tags and resource-type associations, and the
resource types they name, written into imgreg's ``metadef_*`` tables.

Rows are matched by name, not by id (imgreg numbers its own rows: a namespace loaded with
``imgreg-manage db load_metadefs`` may hold an id Glance gave another). A namespace of the same
name already in imgreg takes Glance's values: what it holds is made what Glance holds (a child
Glance does not have is removed). Each row is compared first and written only when it differs,
so a re-run changes nothing. Glance deletes metadef rows outright: a namespace deleted in Glance
after an import stays in imgreg, to be deleted there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from imgreg.db.metadefs.models import (
    AssociationRow,
    NamespaceRow,
    ObjectRow,
    PropertyDefRow,
    ResourceTypeRow,
    TagDefRow,
)
from imgreg.db.session import Database
from imgreg.domain.metadef import NAME_MAX, VISIBILITIES
from imgreg.migrate.glance_source import GlanceSource

NAMESPACES = cast(Table, NamespaceRow.__table__)
RESOURCE_TYPES = cast(Table, ResourceTypeRow.__table__)
ASSOCIATIONS = cast(Table, AssociationRow.__table__)
KINDS = ("objects", "properties", "tags", "resource type associations")
CHILD_TABLES = {
    "objects": cast(Table, ObjectRow.__table__),
    "properties": cast(Table, PropertyDefRow.__table__),
    "tags": cast(Table, TagDefRow.__table__),
}
GLANCE_TABLES = {
    "objects": "metadef_objects",
    "properties": "metadef_properties",
    "tags": "metadef_tags",
    "resource type associations": "metadef_namespace_resource_types",
}
TABLES = ("metadef_namespaces", "metadef_resource_types", *GLANCE_TABLES.values())
NS_FIELDS = ("display_name", "description", "visibility", "protected", "owner")
SHORT = 80  # display_name, properties_target, prefix: String(80) in imgreg as in Glance
Counts = tuple[int, int, int]  # created, updated, unchanged


@dataclasses.dataclass
class Namespace:
    """One Glance namespace as imgreg stores it: its row, and per kind name → row."""

    row: dict[str, Any]
    children: dict[str, dict[str, dict[str, Any]]]


@dataclasses.dataclass
class Written:
    namespaces: Counts = (0, 0, 0)
    children: dict[str, Counts] = dataclasses.field(default_factory=dict)
    resource_types: Counts = (0, 0, 0)

    def lines(self) -> list[str]:
        counts = {
            "namespaces": self.namespaces,
            **self.children,
            "resource types": self.resource_types,
        }
        return [
            f"metadef {kind}: {c[0]} created, {c[1]} updated, {c[2]} unchanged"
            for kind, c in counts.items()
        ]


def read(
    source: GlanceSource, since: dt.datetime | None, skipped: list[tuple[str, str]]
) -> list[Namespace]:
    """Glance's namespaces (those with a row created or updated at or after ``since``), as
    imgreg rows; an odd row goes to ``skipped`` with the reason. [] when Glance has none."""
    tables = source.meta.tables
    if any(name not in tables for name in TABLES):
        return []
    ns_table = tables["metadef_namespaces"]
    with source.engine.connect() as conn:
        wanted = None
        if since is not None:
            wanted = set(conn.scalars(select(ns_table.c.id).where(_touched(ns_table, since))))
            for name in GLANCE_TABLES.values():
                table = tables[name]
                wanted.update(
                    conn.scalars(select(table.c.namespace_id).where(_touched(table, since)))
                )
        rows = [
            dict(r)
            for r in conn.execute(select(ns_table).order_by(ns_table.c.namespace)).mappings()
            if wanted is None or r["id"] in wanted
        ]
        types = {
            r["id"]: dict(r)
            for r in conn.execute(select(tables["metadef_resource_types"])).mappings()
        }
        owned: dict[int, dict[str, list[dict[str, Any]]]] = {r["id"]: {} for r in rows}
        for kind, name in GLANCE_TABLES.items():
            table = tables[name]
            for child in conn.execute(select(table)).mappings():
                if child["namespace_id"] in owned:
                    owned[child["namespace_id"]].setdefault(kind, []).append(dict(child))
    found = []
    for row in rows:
        namespace = _namespace(row, owned[row["id"]], types, skipped)
        if namespace is not None:
            found.append(namespace)
    return found


def _touched(table: Table, since: dt.datetime) -> Any:
    return or_(table.c.created_at >= since, table.c.updated_at >= since)


def _stamps(row: dict[str, Any]) -> dict[str, Any]:
    return {"created_at": row["created_at"], "updated_at": row["updated_at"] or row["created_at"]}


def _namespace(
    row: dict[str, Any],
    owned: dict[str, list[dict[str, Any]]],
    types: dict[int, dict[str, Any]],
    skipped: list[tuple[str, str]],
) -> Namespace | None:
    name = row["namespace"]
    what = f"metadef namespace {name!s:.{NAME_MAX}}"
    why = _name_refusal(name)
    if why is None and row["visibility"] not in VISIBILITIES:
        why = f"unknown visibility {row['visibility']!s:.32}"
    if why is None and row["display_name"] is not None and len(row["display_name"]) > SHORT:
        why = f"its display_name is over {SHORT} characters"
    if why is None and not isinstance(row["created_at"], dt.datetime):
        why = "no created_at"
    if why is not None:
        skipped.append((what, why))
        return None
    ns_row = {
        "namespace": name,
        "display_name": row["display_name"],
        "description": row["description"],
        "visibility": row["visibility"],
        "protected": bool(row["protected"]),
        "owner": row["owner"] or None,  # an empty owner is nobody's, as a NULL one
        **_stamps(row),
    }
    children: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    for kind in ("objects", "properties", "tags"):
        for child in owned.get(kind, []):
            child_name = child["name"]
            label = f"metadef {kind[:-1] if kind != 'properties' else 'property'}"
            why = _name_refusal(child_name)
            value = None if why else _child(kind, child)
            if isinstance(value, str):
                why = value
            if why is not None or not isinstance(value, dict):
                skipped.append((f"{label} {child_name!s:.{NAME_MAX}} of {name}", str(why)))
                continue
            children[kind][child_name] = value
    for assoc in owned.get("resource type associations", []):
        rtype = types.get(assoc["resource_type_id"])
        why = None if rtype is None else _name_refusal(rtype["name"])
        for field in ("prefix", "properties_target"):
            if why is None and assoc[field] is not None and len(assoc[field]) > SHORT:
                why = f"its {field} is over {SHORT} characters"
        if rtype is None or why is not None:
            label = "?" if rtype is None else f"{rtype['name']!s:.{NAME_MAX}}"
            skipped.append((f"metadef resource type association {label} of {name}", str(why)))
            continue
        children["resource type associations"][rtype["name"]] = {
            "prefix": assoc["prefix"],
            "properties_target": assoc["properties_target"],
            "resource_type_protected": bool(rtype["protected"]),
            "resource_type_stamps": _stamps(rtype),
            **_stamps(assoc),
        }
    return Namespace(ns_row, children)


def _name_refusal(name: Any) -> str | None:
    if not isinstance(name, str) or not name or "\x00" in name:
        return "its name is empty or not text"
    if len(name) > NAME_MAX:
        return f"its name is over {NAME_MAX} characters"
    return None


def _child(kind: str, row: dict[str, Any]) -> dict[str, Any] | str:
    """The imgreg row of an object, property or tag, or why it cannot be one."""
    out = _stamps(row)
    if kind == "tags":
        return out
    schema = _parse(row["json_schema"])
    if not isinstance(schema, dict):
        return "its json_schema is not a JSON object"
    out["json_schema"] = json.dumps(schema)
    if kind == "objects":
        out["description"] = row["description"]
        # Glance keeps ``required`` as its names joined with commas (glance.db's object repo)
        required = row["required"].split(",") if row["required"] else None
        out["required"] = json.dumps(required) if required is not None else None
    return out


def _parse(text: Any) -> Any:
    if isinstance(text, dict | list):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def write(db: Database, namespaces: list[Namespace]) -> Written:
    """Each namespace in its own transaction: what differs from imgreg's rows, written."""
    written = Written(children=dict.fromkeys(KINDS, (0, 0, 0)))
    seen: set[str] = set()  # resource types written (or found the same) by this run
    for namespace in namespaces:
        with db.write() as session:
            ns_counts, child_counts, type_counts = _write_one(session, namespace, seen)
        written.namespaces = _add(written.namespaces, ns_counts)
        written.resource_types = _add(written.resource_types, type_counts)
        for kind in KINDS:
            written.children[kind] = _add(written.children[kind], child_counts[kind])
    return written


def _add(a: Counts, b: Counts) -> Counts:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _write_one(
    session: Session, namespace: Namespace, seen: set[str]
) -> tuple[Counts, dict[str, Counts], Counts]:
    row = namespace.row
    old = session.execute(
        select(NAMESPACES).where(NAMESPACES.c.namespace == row["namespace"])
    ).mappings().first()  # fmt: skip
    if old is None:
        ns_id = _inserted(session, insert(NAMESPACES).values(**row))
        ns_counts: Counts = (1, 0, 0)
    else:
        ns_id = old["id"]
        if _normal(dict(old)) == _normal(row):
            ns_counts = (0, 0, 1)
        else:
            session.execute(update(NAMESPACES).where(NAMESPACES.c.id == ns_id).values(**row))
            ns_counts = (0, 1, 0)
    counts = {}
    for kind, table in CHILD_TABLES.items():
        have = {
            r["name"]: dict(r)
            for r in session.execute(select(table).where(table.c.namespace_id == ns_id)).mappings()
        }
        counts[kind] = _sync(session, table, ns_id, have, namespace.children[kind])
    type_counts, type_ids = _resource_types(session, namespace, seen)
    have = {}
    for r in session.execute(
        select(ASSOCIATIONS, RESOURCE_TYPES.c.name)
        .join(RESOURCE_TYPES, RESOURCE_TYPES.c.id == ASSOCIATIONS.c.resource_type_id)
        .where(ASSOCIATIONS.c.namespace_id == ns_id)
    ).mappings():
        have[r["name"]] = dict(r)
    wanted = {
        name: {k: v for k, v in a.items() if not k.startswith("resource_type_")}
        | {"resource_type_id": type_ids[name]}
        for name, a in namespace.children["resource type associations"].items()
    }
    counts["resource type associations"] = _sync(session, ASSOCIATIONS, ns_id, have, wanted)
    return ns_counts, counts, type_counts


def _resource_types(
    session: Session, namespace: Namespace, seen: set[str]
) -> tuple[Counts, dict[str, int]]:
    """The resource types the namespace's associations name, made as Glance has them; each
    counted once a run (``seen``), however many namespaces name it."""
    created = updated = unchanged = 0
    ids = {}
    for name, assoc in namespace.children["resource type associations"].items():
        wanted = {"protected": assoc["resource_type_protected"], **assoc["resource_type_stamps"]}
        old = session.execute(
            select(RESOURCE_TYPES).where(RESOURCE_TYPES.c.name == name)
        ).mappings().first()  # fmt: skip
        if old is None:
            ids[name] = _inserted(session, insert(RESOURCE_TYPES).values(name=name, **wanted))
            seen.add(name)
            created += 1
            continue
        ids[name] = old["id"]
        if name in seen:
            continue
        seen.add(name)
        if _normal(dict(old)) == _normal(wanted):
            unchanged += 1
        else:
            session.execute(
                update(RESOURCE_TYPES).where(RESOURCE_TYPES.c.id == old["id"]).values(**wanted)
            )
            updated += 1
    return (created, updated, unchanged), ids


def _inserted(session: Session, statement: Any) -> int:
    key = cast("CursorResult[Any]", session.execute(statement)).inserted_primary_key
    assert key is not None  # an INSERT of one row
    return int(key[0])


def _sync(
    session: Session,
    table: Table,
    ns_id: int,
    have: dict[str, dict[str, Any]],
    wanted: dict[str, dict[str, Any]],
) -> Counts:
    """Make the namespace's rows of ``table`` be ``wanted`` (name → row), touching only the
    rows that differ."""
    created = updated = unchanged = 0
    key = table.c.resource_type_id if "resource_type_id" in table.c else table.c.id
    for name, old in have.items():
        if name not in wanted:
            session.execute(
                delete(table).where(table.c.namespace_id == ns_id, key == old[key.name])
            )
    for name, row in wanted.items():
        found = have.get(name)
        values = {"namespace_id": ns_id, **row}
        if "name" in table.c:
            values["name"] = name
        if found is None:
            session.execute(insert(table).values(**values))
            created += 1
        elif _normal(found) == _normal(values):
            unchanged += 1
        else:
            where = (table.c.namespace_id == ns_id, key == found[key.name])
            session.execute(update(table).where(*where).values(**values))
            updated += 1
    return created, updated, unchanged


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as compared: without imgreg's ids, times to the second (MariaDB keeps no
    fraction), booleans as booleans, JSON parsed."""
    out = {}
    for k, v in row.items():
        if k in ("id", "name", "namespace_id"):
            continue
        if isinstance(v, dt.datetime):
            v = v.replace(microsecond=0)
        elif k == "protected":
            v = bool(v)
        elif k in ("json_schema", "required") and v is not None:
            v = json.loads(v)
        out[k] = v
    return out
