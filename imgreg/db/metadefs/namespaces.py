"""``SqlNamespaceRepo``: the innermost end of the namespace chain.

Who may see what is decided above (``imgreg.layers.metadefs``); a list is scoped in SQL by the
``Viewer`` it is given, so that paging counts only namespaces the caller may see. Deleting a
namespace deletes everything it holds in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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
from imgreg.domain.image import utcnow
from imgreg.domain.metadef import NAME_MAX, Namespace, namespace_not_found
from imgreg.domain.metadef_query import NamespaceQuery, Viewer

CHILD_ROWS: dict[str, type[ObjectRow] | type[PropertyDefRow] | type[TagDefRow]] = {
    "objects": ObjectRow,
    "properties": PropertyDefRow,
    "tags": TagDefRow,
}


def to_domain(row: NamespaceRow) -> Namespace:
    namespace = Namespace(
        id=row.id,
        namespace=row.namespace,
        owner=row.owner,
        display_name=row.display_name,
        description=row.description,
        visibility=row.visibility,
        protected=row.protected,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    namespace.mark_loaded()
    return namespace


def _fits(name: str) -> bool:
    return "\x00" not in name and 0 < len(name) <= NAME_MAX


def _scope(viewer: Viewer) -> ColumnElement[bool] | None:
    if viewer.admin:
        return None
    public = NamespaceRow.visibility == "public"
    if viewer.project is None:
        return public
    return or_(public, NamespaceRow.owner == viewer.project)


def namespace_row(session: Session, name: str) -> NamespaceRow:
    row = session.scalar(select(NamespaceRow).where(NamespaceRow.namespace == name))
    if row is None:
        raise namespace_not_found(name)
    return row


class SqlNamespaceRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> Namespace:
        if not _fits(name):
            raise namespace_not_found(name)
        with self.db.read() as session:
            return to_domain(namespace_row(session, name))

    def list(self, query: NamespaceQuery) -> list[Namespace]:
        stmt = select(NamespaceRow)
        scope = _scope(query.viewer)
        if scope is not None:
            stmt = stmt.where(scope)
        if query.visibility:
            stmt = stmt.where(NamespaceRow.visibility == query.visibility)
        if query.resource_types:
            stmt = stmt.where(
                NamespaceRow.id.in_(
                    select(AssociationRow.namespace_id)
                    .join(ResourceTypeRow, ResourceTypeRow.id == AssociationRow.resource_type_id)
                    .where(ResourceTypeRow.name.in_(query.resource_types))
                )
            )
        key = getattr(NamespaceRow, query.sort_key)
        descending = query.sort_dir == "desc"
        with self.db.read() as session:
            if query.marker is not None:
                marker = namespace_row(session, query.marker) if _fits(query.marker) else None
                if marker is None:
                    raise namespace_not_found(query.marker)
                value = getattr(marker, query.sort_key)
                if descending:
                    after = or_(key < value, and_(key == value, NamespaceRow.id < marker.id))
                else:
                    after = or_(key > value, and_(key == value, NamespaceRow.id > marker.id))
                stmt = stmt.where(after)
            order = (key.desc(), NamespaceRow.id.desc()) if descending else (key, NamespaceRow.id)
            rows = session.scalars(stmt.order_by(*order).limit(query.limit))
            return [to_domain(row) for row in rows]

    def add(self, namespace: Namespace) -> Namespace:
        duplicate = errors.Conflict(
            f"The metadata definition namespace={namespace.namespace} already exists."
        )
        try:
            with self.db.write() as session:
                if session.scalar(
                    select(NamespaceRow.id).where(NamespaceRow.namespace == namespace.namespace)
                ):
                    raise duplicate
                row = NamespaceRow(
                    namespace=namespace.namespace,
                    owner=namespace.owner,
                    display_name=namespace.display_name,
                    description=namespace.description,
                    visibility=namespace.visibility,
                    protected=namespace.protected,
                    created_at=namespace.created_at,
                    updated_at=namespace.updated_at,
                )
                session.add(row)
                session.flush()
                namespace.id = row.id
        except IntegrityError:
            raise duplicate from None
        namespace.mark_loaded()
        return namespace

    def save(self, namespace: Namespace) -> Namespace:
        duplicate = errors.Conflict(
            "Invalid update. It would result in a duplicate metadata definition namespace "
            f"with the same name of {namespace.namespace}"
        )
        now = utcnow()
        try:
            with self.db.write() as session:
                row = namespace_row(session, namespace.loaded_name or namespace.namespace)
                if namespace.namespace != row.namespace and session.scalar(
                    select(NamespaceRow.id).where(NamespaceRow.namespace == namespace.namespace)
                ):
                    raise duplicate
                row.namespace = namespace.namespace
                row.display_name = namespace.display_name
                row.description = namespace.description
                row.visibility = namespace.visibility
                row.protected = namespace.protected
                row.owner = namespace.owner
                row.updated_at = now
        except IntegrityError:
            raise duplicate from None
        namespace.updated_at = now
        namespace.mark_loaded()
        return namespace

    def remove(self, namespace: Namespace, force: bool = False) -> None:
        """The namespace and everything in it, at once; ``force``: even when protected (the
        clean-up of a create that failed half-way)."""
        with self.db.write() as session:
            row = namespace_row(session, namespace.loaded_name or namespace.namespace)
            if not force:
                to_domain(row).check_deletable()
            session.execute(delete(AssociationRow).where(AssociationRow.namespace_id == row.id))
            for child in CHILD_ROWS.values():
                session.execute(delete(child).where(child.namespace_id == row.id))
            session.delete(row)

    def remove_children(self, namespace: Namespace, kind: str) -> None:
        """``kind`` is ``objects``, ``properties`` or ``tags``: all of them, at once."""
        child = CHILD_ROWS[kind]
        with self.db.write() as session:
            row = namespace_row(session, namespace.loaded_name or namespace.namespace)
            to_domain(row).check_deletable()
            session.execute(delete(child).where(child.namespace_id == row.id))
