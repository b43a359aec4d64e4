"""The chain of a namespace's objects, properties or tags: authorization → notifier → policy
→ ``SqlChildRepo``. Every layer knows the namespace, which the controller has loaded through
the namespace chain (so a caller who may not see it got ``NotFound`` already)."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from imgreg.context import RequestContext
from imgreg.domain.image import isotime, utcnow
from imgreg.domain.metadef import MetadefObject, MetadefProperty, MetadefTag, Namespace
from imgreg.layers.metadefs.common import MetadefPolicy, check_may_change
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier

T = TypeVar("T", bound=MetadefObject | MetadefProperty | MetadefTag)


class ChildRepo(Protocol[T]):
    def get(self, name: str) -> T: ...
    def list(self) -> builtins.list[T]: ...
    def add(self, item: T) -> T: ...
    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]: ...
    def save(self, item: T) -> T: ...
    def remove(self, item: T) -> None: ...


@dataclasses.dataclass(frozen=True)
class Kind(Generic[T]):
    """A kind's policy rules, event prefix and notification payload."""

    get: str
    list: str
    add: str
    add_all: str
    modify: str
    delete: str
    event: str
    payload: Callable[[T], dict[str, Any]]


class ChildRepoLayer(Generic[T]):
    def __init__(
        self, inner: ChildRepo[T], ctx: RequestContext, namespace: Namespace, kind: Kind[T]
    ) -> None:
        self.inner = inner
        self.ctx = ctx
        self.namespace = namespace
        self.kind = kind

    def get(self, name: str) -> T:
        return self.inner.get(name)

    def list(self) -> builtins.list[T]:
        return self.inner.list()

    def add(self, item: T) -> T:
        return self.inner.add(item)

    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]:
        return self.inner.add_all(items, replace)

    def save(self, item: T) -> T:
        return self.inner.save(item)

    def remove(self, item: T) -> None:
        self.inner.remove(item)


class AuthorizationChildRepo(ChildRepoLayer[T]):
    """Only the namespace's owner (or an administrator) changes what it holds."""

    def add(self, item: T) -> T:
        check_may_change(self.ctx, self.namespace)
        return self.inner.add(item)

    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]:
        check_may_change(self.ctx, self.namespace)
        return self.inner.add_all(items, replace)

    def save(self, item: T) -> T:
        check_may_change(self.ctx, self.namespace)
        return self.inner.save(item)

    def remove(self, item: T) -> None:
        check_may_change(self.ctx, self.namespace)
        self.inner.remove(item)


class NotifierChildRepo(ChildRepoLayer[T]):
    """``metadef_<kind>.create`` / ``.update`` / ``.delete`` with Glance's payloads."""

    def __init__(
        self,
        inner: ChildRepo[T],
        ctx: RequestContext,
        namespace: Namespace,
        kind: Kind[T],
        notifier: Notifier,
    ) -> None:
        super().__init__(inner, ctx, namespace, kind)
        self.notifier = notifier

    def add(self, item: T) -> T:
        item = self.inner.add(item)
        self.notifier.info(f"{self.kind.event}.create", self.kind.payload(item))
        return item

    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]:
        items = self.inner.add_all(items, replace)
        for item in items:
            self.notifier.info(f"{self.kind.event}.create", self.kind.payload(item))
        return items

    def save(self, item: T) -> T:
        old = item.loaded_name or item.name
        item = self.inner.save(item)
        payload = {**self.kind.payload(item), "name_old": old}
        self.notifier.info(f"{self.kind.event}.update", payload)
        return item

    def remove(self, item: T) -> None:
        self.inner.remove(item)
        payload = {
            **self.kind.payload(item),
            "deleted": True,
            "deleted_at": isotime(utcnow()),
        }
        self.notifier.info(f"{self.kind.event}.delete", payload)


class PolicyChildRepo(ChildRepoLayer[T]):
    def __init__(
        self,
        inner: ChildRepo[T],
        ctx: RequestContext,
        namespace: Namespace,
        kind: Kind[T],
        policy: Policy,
    ) -> None:
        super().__init__(inner, ctx, namespace, kind)
        self.rules = MetadefPolicy(ctx, policy)

    def _enforce(self, rule: str) -> None:
        self.rules.enforce(rule, self.namespace)

    def get(self, name: str) -> T:
        self._enforce(self.kind.get)
        return self.inner.get(name)

    def list(self) -> builtins.list[T]:
        self._enforce(self.kind.list)
        return self.inner.list()

    def add(self, item: T) -> T:
        self._enforce(self.kind.add)
        return self.inner.add(item)

    def add_all(self, items: builtins.list[T], replace: bool = False) -> builtins.list[T]:
        self._enforce(self.kind.add_all)
        return self.inner.add_all(items, replace)

    def save(self, item: T) -> T:
        self._enforce(self.kind.modify)
        return self.inner.save(item)

    def remove(self, item: T) -> None:
        self._enforce(self.kind.delete)
        self.inner.remove(item)
