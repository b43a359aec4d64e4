"""Metadef definition files (Glance's JSON format, one namespace per file) to and from the
database: ``imgreg-manage db load_metadefs | unload_metadefs | export_metadefs``.

Each file is checked against the namespace schema the API enforces and loaded in one
transaction, so a bad file changes nothing and the others still load. Without ``merge`` a
namespace already in the database is skipped; with it, what the file has and the database
lacks is added, ``prefer_new`` also rewrites what both have, and ``overwrite`` replaces the
namespace whole. Resource types first named by a file are made ``protected`` (seeded).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any

from sqlalchemy import delete, select
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
from imgreg.domain import errors
from imgreg.domain import metadef_schemas as schemas
from imgreg.domain.image import utcnow
from imgreg.domain.metadef import NAME_MAX

CHILDREN = (ObjectRow, PropertyDefRow, TagDefRow, AssociationRow)


@dataclasses.dataclass(frozen=True)
class LoadMode:
    merge: bool = False
    prefer_new: bool = False
    overwrite: bool = False

    def check(self) -> None:
        if not self.merge and (self.prefer_new or self.overwrite):
            raise errors.Invalid(
                "To use --prefer_new or --overwrite you need to combine of these options "
                "with --merge option."
            )
        if self.prefer_new and self.overwrite:
            raise errors.Invalid(
                "Please provide no more than one option from this list: --prefer_new, --overwrite"
            )


def definition_files(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
    return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]


def read_definition(file: str) -> dict[str, Any]:
    """A definition file's namespace, checked as an API create body would be."""
    try:
        with open(file, encoding="utf-8") as handle:
            body = json.load(handle)
    except (OSError, ValueError) as exc:
        raise errors.Invalid(f"{file}: not a readable JSON file ({exc})") from None
    if not isinstance(body, dict):
        raise errors.Invalid(f"{file}: a definition file holds one JSON object")
    try:
        schemas.validate("namespace", body)
        for obj in body.get("objects", ()):
            schemas.validate("object", obj)
        _check_names(body)
    except errors.Invalid as exc:
        raise errors.Invalid(f"{file}: {exc.message}") from None
    return dict(body)


def _check_names(body: dict[str, Any]) -> None:
    names = [
        *(body.get("properties") or {}),
        *(o["name"] for o in body.get("objects", ())),
        *(t.get("name") for t in body.get("tags", ())),
        *(a.get("name") for a in body.get("resource_type_associations", ())),
    ]
    for name in names:
        if not isinstance(name, str) or not 0 < len(name) <= NAME_MAX or "/" in name:
            raise errors.Invalid(f"Invalid name in the definitions: {str(name)[:NAME_MAX]!r}")


def _child(session: Session, cls: Any, namespace_id: int, name: str) -> Any:
    return session.scalar(select(cls).where(cls.namespace_id == namespace_id, cls.name == name))


def _put(session: Session, row: Any, existing: Any, prefer_new: bool, **values: Any) -> None:
    """Insert ``row`` when there is no ``existing`` one; update it with ``prefer_new``."""
    now = utcnow()
    if existing is None:
        for key, value in values.items():
            setattr(row, key, value)
        row.created_at = row.updated_at = now
        session.add(row)
    elif prefer_new:
        for key, value in values.items():
            setattr(existing, key, value)
        existing.updated_at = now


def _resource_type(session: Session, name: str) -> ResourceTypeRow:
    row = session.scalar(select(ResourceTypeRow).where(ResourceTypeRow.name == name))
    if row is None:
        row = ResourceTypeRow(name=name, protected=True)
        row.created_at = row.updated_at = utcnow()
        session.add(row)
        session.flush()
    return row


def _load_one(session: Session, body: dict[str, Any], mode: LoadMode) -> str:
    name = body["namespace"]
    fields = {
        "display_name": body.get("display_name"),
        "description": body.get("description"),
        "visibility": body.get("visibility") or "private",
        "protected": bool(body.get("protected")),
        "owner": body.get("owner", "admin"),
    }
    ns = session.scalar(select(NamespaceRow).where(NamespaceRow.namespace == name))
    if ns is not None and mode.overwrite:
        for cls in CHILDREN:
            session.execute(delete(cls).where(cls.namespace_id == ns.id))
        session.delete(ns)
        session.flush()
        ns = None
    if ns is not None and not mode.merge:
        return f"skipped {name}: it already exists"
    outcome = "merged" if ns is not None else "loaded"
    if ns is None:
        ns = NamespaceRow(namespace=name)
        _put(session, ns, None, False, **fields)
        session.flush()
    elif mode.prefer_new:
        _put(session, ns, ns, True, **fields)
    for item in body.get("resource_type_associations", ()):
        rt = _resource_type(session, item["name"])
        existing = session.get(AssociationRow, (rt.id, ns.id))
        row = AssociationRow(resource_type_id=rt.id, namespace_id=ns.id)
        _put(
            session,
            row,
            existing,
            mode.prefer_new,
            prefix=item.get("prefix"),
            properties_target=item.get("properties_target"),
        )
    for prop_name, schema in (body.get("properties") or {}).items():
        existing = _child(session, PropertyDefRow, ns.id, prop_name)
        prop = PropertyDefRow(namespace_id=ns.id, name=prop_name)
        _put(session, prop, existing, mode.prefer_new, json_schema=json.dumps(schema))
    for obj in body.get("objects", ()):
        existing = _child(session, ObjectRow, ns.id, obj["name"])
        required = obj.get("required")
        obj_row = ObjectRow(namespace_id=ns.id, name=obj["name"])
        _put(
            session,
            obj_row,
            existing,
            mode.prefer_new,
            description=obj.get("description"),
            required=json.dumps(required) if required is not None else None,
            json_schema=json.dumps(obj.get("properties") or {}),
        )
    for tag in body.get("tags", ()):
        existing = _child(session, TagDefRow, ns.id, tag["name"])
        _put(session, TagDefRow(namespace_id=ns.id, name=tag["name"]), existing, False)
    return f"{outcome} {name}"


def load(db: Database, path: str, mode: LoadMode) -> tuple[list[str], list[str]]:
    """Load every ``.json`` file of ``path`` (or the file itself); returns what was done and
    what failed, one line per file."""
    mode.check()
    done, failed = [], []
    for file in definition_files(path):
        try:
            body = read_definition(file)
            with db.write() as session:
                done.append(_load_one(session, body, mode))
        except errors.ImgregError as exc:
            failed.append(exc.message)
    return done, failed


def unload(db: Database) -> None:
    """Every metadef, resource types included."""
    with db.write() as session:
        for cls in (*CHILDREN, NamespaceRow, ResourceTypeRow):
            session.execute(delete(cls))


def export(db: Database, path: str) -> list[str]:
    """One file per namespace, named after its display name (Glance's naming); returns the
    files written."""
    os.makedirs(path, exist_ok=True)
    written = []
    with db.read() as session:
        for ns in session.scalars(select(NamespaceRow).order_by(NamespaceRow.namespace)):
            stem = re.sub(r"[\W_]+", "", ns.display_name or ns.namespace) or f"namespace{ns.id}"
            file = os.path.join(path, f"{stem}.json")
            with open(file, "w", encoding="utf-8") as handle:
                json.dump(_drop_none(_exported(session, ns)), handle, indent=4, ensure_ascii=False)
            written.append(file)
    return written


def _drop_none(value: Any) -> Any:
    """No ``null`` fields: the namespace schema (which loading checks) allows none."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _exported(session: Session, ns: NamespaceRow) -> dict[str, Any]:
    def rows(cls: Any) -> list[Any]:
        return list(
            session.scalars(select(cls).where(cls.namespace_id == ns.id).order_by(cls.name))
        )

    associations = session.execute(
        select(AssociationRow, ResourceTypeRow.name)
        .join(ResourceTypeRow, ResourceTypeRow.id == AssociationRow.resource_type_id)
        .where(AssociationRow.namespace_id == ns.id)
        .order_by(ResourceTypeRow.name)
    )
    objects = []
    for obj in rows(ObjectRow):
        item = {
            "name": obj.name,
            "description": obj.description,
            "properties": json.loads(obj.json_schema),
        }
        if obj.required is not None:
            item["required"] = json.loads(obj.required)
        objects.append(item)
    return {
        "namespace": ns.namespace,
        "display_name": ns.display_name,
        "description": ns.description,
        "visibility": ns.visibility,
        "protected": ns.protected,
        "owner": ns.owner,
        "resource_type_associations": [
            {"name": name, "prefix": a.prefix, "properties_target": a.properties_target}
            for a, name in associations
        ],
        "properties": {p.name: json.loads(p.json_schema) for p in rows(PropertyDefRow)},
        "objects": objects,
        "tags": [{"name": t.name} for t in rows(TagDefRow)],
    }
