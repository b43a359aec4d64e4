"""``SqlChildRepo``: the objects, properties or tags of one namespace, each unique by name
within it. One class for the three kinds; a ``Codec`` says how a kind's rows and domain
objects map onto each other (the JSON parts are stored as text)."""

from __future__ import annotations

import builtins
import dataclasses
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imgreg.db.metadefs.models import ObjectRow, PropertyDefRow, TagDefRow
from imgreg.db.metadefs.namespaces import namespace_row
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.domain.metadef import (
    NAME_MAX,
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    Namespace,
    check_child_deletable,
)

T = TypeVar("T", bound=MetadefObject | MetadefProperty | MetadefTag)
Row = ObjectRow | PropertyDefRow | TagDefRow


@dataclasses.dataclass(frozen=True)
class Codec(Generic[T]):
    row: type[Row]
    word: str  # as Glance's messages name the kind
    to_domain: Callable[[str, Any], T]
    values: Callable[[T], dict[str, Any]]  # the columns besides names and timestamps


def _object(namespace: str, row: Any) -> MetadefObject:
    return MetadefObject(
        namespace=namespace,
        name=row.name,
        description=row.description,
        required=json.loads(row.required) if row.required is not None else None,
        properties=json.loads(row.json_schema) or None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        loaded_name=row.name,
    )


def _property(namespace: str, row: Any) -> MetadefProperty:
    return MetadefProperty(
        namespace=namespace,
        name=row.name,
        schema=json.loads(row.json_schema),
        created_at=row.created_at,
        updated_at=row.updated_at,
        loaded_name=row.name,
    )


def _tag(namespace: str, row: Any) -> MetadefTag:
    return MetadefTag(
        namespace=namespace,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        loaded_name=row.name,
    )


OBJECTS: Codec[MetadefObject] = Codec(
    ObjectRow,
    "object",
    _object,
    lambda o: {
        "description": o.description,
        "required": json.dumps(o.required) if o.required is not None else None,
        "json_schema": json.dumps(o.properties or {}),
    },
)
PROPERTIES: Codec[MetadefProperty] = Codec(
    PropertyDefRow, "property", _property, lambda p: {"json_schema": json.dumps(p.schema)}
)
TAGS: Codec[MetadefTag] = Codec(TagDefRow, "tag", _tag, lambda t: {})


class SqlChildRepo(Generic[T]):
    def __init__(self, db: Database, namespace: Namespace, codec: Codec[T]) -> None:
        self.db = db
        self.namespace = namespace
        self.codec = codec
        self.name = namespace.loaded_name or namespace.namespace

    def _not_found(self, name: str) -> errors.NotFound:
        word = "tag" if self.codec.word == "tag" else self.codec.word
        return errors.NotFound(
            f"The metadata definition {word} with name={name[:NAME_MAX]} was not found in "
            f"namespace={self.name}."
        )

    def _duplicate(self, name: str) -> errors.Conflict:
        if self.codec.word == "tag":
            return errors.Conflict(
                f"A metadata tag with name={name} already exists in namespace={self.name}."
            )
        return errors.Conflict(
            f"A metadata definition {self.codec.word} with name={name} already exists in "
            f"namespace={self.name}."
        )

    def _row(self, session: Session, namespace_id: int, name: str) -> Any:
        row_cls = self.codec.row
        return session.scalar(
            select(row_cls).where(row_cls.namespace_id == namespace_id, row_cls.name == name)
        )

    def get(self, name: str) -> T:
        if "\x00" in name or not 0 < len(name) <= NAME_MAX:
            raise self._not_found(name)
        with self.db.read() as session:
            ns = namespace_row(session, self.name)
            row = self._row(session, ns.id, name)
            if row is None:
                raise self._not_found(name)
            return self.codec.to_domain(ns.namespace, row)

    def list(self) -> builtins.list[T]:
        row_cls = self.codec.row
        with self.db.read() as session:
            ns = namespace_row(session, self.name)
            rows = session.scalars(
                select(row_cls).where(row_cls.namespace_id == ns.id).order_by(row_cls.name)
            )
            return [self.codec.to_domain(ns.namespace, row) for row in rows]

    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]:
        """Add ``items`` at once (all or none); with ``replace``, the kind's existing rows
        go first (tags created without ``X-Openstack-Append``)."""
        names = [item.name for item in items]
        for name in names:
            if names.count(name) > 1:
                raise self._duplicate(name)
        row_cls = self.codec.row
        try:
            with self.db.write() as session:
                ns = namespace_row(session, self.name)
                if replace:
                    session.execute(delete(row_cls).where(row_cls.namespace_id == ns.id))
                for item in items:
                    if not replace and self._row(session, ns.id, item.name) is not None:
                        raise self._duplicate(item.name)
                    session.add(
                        row_cls(
                            namespace_id=ns.id,
                            name=item.name,
                            created_at=item.created_at,
                            updated_at=item.updated_at,
                            **self.codec.values(item),
                        )
                    )
                session.flush()
        except IntegrityError:
            raise self._duplicate(names[0] if len(names) == 1 else ", ".join(names)) from None
        for item in items:
            item.loaded_name = item.name
        return items

    def add(self, item: T) -> T:
        return self.add_all([item])[0]

    def save(self, item: T) -> T:
        now = utcnow()
        old = item.loaded_name or item.name
        try:
            with self.db.write() as session:
                ns = namespace_row(session, self.name)
                row = self._row(session, ns.id, old)
                if row is None:
                    raise self._not_found(old)
                if item.name != old and self._row(session, ns.id, item.name) is not None:
                    raise self._duplicate(item.name)
                row.name = item.name
                for column, value in self.codec.values(item).items():
                    setattr(row, column, value)
                row.updated_at = now
        except IntegrityError:
            raise self._duplicate(item.name) from None
        item.updated_at = now
        item.loaded_name = item.name
        return item

    def remove(self, item: T) -> None:
        name = item.loaded_name or item.name
        with self.db.write() as session:
            ns = namespace_row(session, self.name)
            check_child_deletable(ns_protected(ns.protected, ns.namespace), item)
            row = self._row(session, ns.id, name)
            if row is None:
                raise self._not_found(name)
            session.delete(row)


def ns_protected(protected: bool, name: str) -> Namespace:
    """A stand-in namespace for the protection check, built from the locked-in row."""
    return Namespace(namespace=name, owner=None, protected=protected)
