"""Metadata definitions (metadefs): the domain objects and their rules.

A ``Namespace`` groups property definitions (``MetadefProperty``: a name and a JSON-schema
fragment), ``MetadefObject``s (named groups of property definitions), ``MetadefTag``s and
``ResourceTypeAssociation``s (which kinds of resource, such as ``OS::Glance::Image``, the
definitions apply to, with the ``prefix`` their property names take there). Everything inside
a protected namespace is as undeletable as the namespace itself (Glance's rule).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from imgreg.domain import errors
from imgreg.domain.image import utcnow

NAME_MAX = 80
VISIBILITIES = ("public", "private")


def _now() -> dt.datetime:
    return utcnow()


@dataclasses.dataclass(eq=False)
class Namespace:
    namespace: str
    owner: str | None
    display_name: str | None = None
    description: str | None = None
    visibility: str = "private"
    protected: bool = False
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)
    id: int | None = None  # the row's key; never shown
    # What it had when loaded: a rename is saved against the old name, and the rules of a
    # change are checked against the owner and visibility before it.
    loaded_name: str | None = None
    loaded_owner: str | None = None
    loaded_visibility: str | None = None

    def mark_loaded(self) -> None:
        self.loaded_name = self.namespace
        self.loaded_owner = self.owner
        self.loaded_visibility = self.visibility

    def check_deletable(self) -> None:
        if self.protected:
            raise errors.Forbidden(
                f"Metadata definition namespace {self.namespace} is protected and cannot be "
                "deleted."
            )


@dataclasses.dataclass(eq=False)
class MetadefObject:
    namespace: str
    name: str
    description: str | None = None
    required: list[str] | None = None
    properties: dict[str, Any] | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)
    loaded_name: str | None = None


@dataclasses.dataclass(eq=False)
class MetadefProperty:
    namespace: str
    name: str
    schema: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)
    loaded_name: str | None = None


@dataclasses.dataclass(eq=False)
class MetadefTag:
    namespace: str
    name: str
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)
    loaded_name: str | None = None


@dataclasses.dataclass(eq=False)
class ResourceType:
    name: str
    protected: bool = False
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)


@dataclasses.dataclass(eq=False)
class ResourceTypeAssociation:
    namespace: str
    name: str
    prefix: str | None = None
    properties_target: str | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=_now)
    updated_at: dt.datetime = dataclasses.field(default_factory=_now)


# What each kind is called in Glance's messages, for the "protected" refusal.
_KIND_WORDS = {
    MetadefObject: "object",
    MetadefProperty: "property",
    MetadefTag: "tag",
    ResourceTypeAssociation: "resource-type-association",
}


def check_child_deletable(namespace: Namespace, child: object) -> None:
    """Glance: what a protected namespace holds cannot be deleted either."""
    if namespace.protected:
        word = _KIND_WORDS.get(type(child), "definition")
        name = getattr(child, "name", "")
        raise errors.Forbidden(
            f"Metadata definition {word} {name} is protected and cannot be deleted."
        )


def namespace_not_found(name: str) -> errors.NotFound:
    return errors.NotFound(f"Metadata definition namespace={name[:NAME_MAX]} was not found.")
