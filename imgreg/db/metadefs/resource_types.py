"""``SqlResourceTypeRepo``: resource types (global, made on first use as Glance does) and a
namespace's associations with them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imgreg.db.metadefs.children import ns_protected
from imgreg.db.metadefs.models import AssociationRow, ResourceTypeRow
from imgreg.db.metadefs.namespaces import namespace_row
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.metadef import (
    Namespace,
    ResourceType,
    ResourceTypeAssociation,
    check_child_deletable,
)


def _association(namespace: str, name: str, row: AssociationRow) -> ResourceTypeAssociation:
    return ResourceTypeAssociation(
        namespace=namespace,
        name=name,
        prefix=row.prefix,
        properties_target=row.properties_target,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlResourceTypeRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_types(self) -> list[ResourceType]:
        with self.db.read() as session:
            rows = session.scalars(select(ResourceTypeRow).order_by(ResourceTypeRow.name))
            return [ResourceType(r.name, r.protected, r.created_at, r.updated_at) for r in rows]

    def associations(self, namespace: Namespace) -> list[ResourceTypeAssociation]:
        with self.db.read() as session:
            ns = namespace_row(session, namespace.loaded_name or namespace.namespace)
            rows = session.execute(
                select(AssociationRow, ResourceTypeRow.name)
                .join(ResourceTypeRow, ResourceTypeRow.id == AssociationRow.resource_type_id)
                .where(AssociationRow.namespace_id == ns.id)
                .order_by(ResourceTypeRow.name)
            )
            return [_association(ns.namespace, name, row) for row, name in rows]

    def _type_id(self, session: Session, name: str, create: bool) -> int | None:
        found = session.scalar(select(ResourceTypeRow.id).where(ResourceTypeRow.name == name))
        if found is not None or not create:
            return found
        row = ResourceTypeRow(name=name, protected=False)
        row.created_at = row.updated_at = ResourceTypeAssociation("", "").created_at
        session.add(row)
        session.flush()
        return row.id

    def add_all(self, namespace: Namespace, items: list[ResourceTypeAssociation]) -> None:
        try:
            with self.db.write() as session:
                ns = namespace_row(session, namespace.loaded_name or namespace.namespace)
                for item in items:
                    type_id = self._type_id(session, item.name, create=True)
                    if session.get(AssociationRow, (type_id, ns.id)) is not None:
                        raise self._duplicate(ns.namespace, item.name)
                    session.add(
                        AssociationRow(
                            resource_type_id=type_id,
                            namespace_id=ns.id,
                            prefix=item.prefix,
                            properties_target=item.properties_target,
                            created_at=item.created_at,
                            updated_at=item.updated_at,
                        )
                    )
                    session.flush()
        except IntegrityError:
            raise self._duplicate(namespace.namespace, items[0].name) from None

    @staticmethod
    def _duplicate(namespace: str, name: str) -> errors.Conflict:
        return errors.Conflict(
            f"The metadata definition resource-type association of resource-type={name} to "
            f"namespace={namespace} already exists."
        )

    def remove(self, namespace: Namespace, item: ResourceTypeAssociation) -> None:
        missing = errors.NotFound(f"Failed to find resource type {item.name[:80]} to delete")
        if "\x00" in item.name or len(item.name) > 80:
            raise missing
        with self.db.write() as session:
            ns = namespace_row(session, namespace.loaded_name or namespace.namespace)
            type_id = self._type_id(session, item.name, create=False)
            row = session.get(AssociationRow, (type_id, ns.id)) if type_id else None
            if row is None:
                raise missing
            check_child_deletable(ns_protected(ns.protected, ns.namespace), item)
            session.delete(row)
