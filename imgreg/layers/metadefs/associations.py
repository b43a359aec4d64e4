"""The resource type chain: authorization → notifier → policy → ``SqlResourceTypeRepo``.

The association methods take the namespace, loaded through the namespace chain; the list of
resource types is global. Events are Glance's ``metadef_resource_type.create`` / ``.delete``.
"""

from __future__ import annotations

from typing import Any, Protocol

from imgreg.context import RequestContext
from imgreg.domain.image import isotime, isotime_or_none, utcnow
from imgreg.domain.metadef import Namespace, ResourceType, ResourceTypeAssociation
from imgreg.layers.metadefs.common import MetadefPolicy, check_may_change
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier

Assoc = ResourceTypeAssociation


class ResourceTypeRepo(Protocol):
    def list_types(self) -> list[ResourceType]: ...
    def associations(self, namespace: Namespace) -> list[Assoc]: ...
    def add_all(self, namespace: Namespace, items: list[Assoc]) -> None: ...
    def remove(self, namespace: Namespace, item: Assoc) -> None: ...


class ResourceTypeRepoLayer:
    def __init__(self, inner: ResourceTypeRepo, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def list_types(self) -> list[ResourceType]:
        return self.inner.list_types()

    def associations(self, namespace: Namespace) -> list[Assoc]:
        return self.inner.associations(namespace)

    def add_all(self, namespace: Namespace, items: list[Assoc]) -> None:
        self.inner.add_all(namespace, items)

    def remove(self, namespace: Namespace, item: Assoc) -> None:
        self.inner.remove(namespace, item)


class AuthorizationResourceTypeRepo(ResourceTypeRepoLayer):
    def add_all(self, namespace: Namespace, items: list[Assoc]) -> None:
        check_may_change(self.ctx, namespace)
        self.inner.add_all(namespace, items)

    def remove(self, namespace: Namespace, item: Assoc) -> None:
        check_may_change(self.ctx, namespace)
        self.inner.remove(namespace, item)


def association_payload(item: Assoc, **extra: Any) -> dict[str, Any]:
    """Glance's ``format_metadef_resource_type_notification``."""
    return {
        "namespace": item.namespace,
        "name": item.name,
        "name_old": item.name,
        "prefix": item.prefix,
        "properties_target": item.properties_target,
        "created_at": isotime_or_none(item.created_at),
        "updated_at": isotime_or_none(item.updated_at),
        "deleted": False,
        "deleted_at": None,
        **extra,
    }


class NotifierResourceTypeRepo(ResourceTypeRepoLayer):
    def __init__(self, inner: ResourceTypeRepo, ctx: RequestContext, notifier: Notifier) -> None:
        super().__init__(inner, ctx)
        self.notifier = notifier

    def add_all(self, namespace: Namespace, items: list[Assoc]) -> None:
        self.inner.add_all(namespace, items)
        for item in items:
            self.notifier.info("metadef_resource_type.create", association_payload(item))

    def remove(self, namespace: Namespace, item: Assoc) -> None:
        self.inner.remove(namespace, item)
        payload = association_payload(item, deleted=True, deleted_at=isotime(utcnow()))
        self.notifier.info("metadef_resource_type.delete", payload)


class PolicyResourceTypeRepo(ResourceTypeRepoLayer):
    def __init__(self, inner: ResourceTypeRepo, ctx: RequestContext, policy: Policy) -> None:
        super().__init__(inner, ctx)
        self.rules = MetadefPolicy(ctx, policy)

    def list_types(self) -> list[ResourceType]:
        self.rules.enforce_global("list_metadef_resource_types")
        return self.inner.list_types()

    def associations(self, namespace: Namespace) -> list[Assoc]:
        self.rules.enforce("list_metadef_resource_types", namespace)
        if not self.rules.policy.check(
            self.ctx, "get_metadef_resource_type", self.rules.target_of(namespace)
        ):
            return []
        return self.inner.associations(namespace)

    def add_all(self, namespace: Namespace, items: list[Assoc]) -> None:
        self.rules.enforce("add_metadef_resource_type_association", namespace)
        self.inner.add_all(namespace, items)

    def remove(self, namespace: Namespace, item: Assoc) -> None:
        self.rules.enforce("remove_metadef_resource_type_association", namespace)
        self.inner.remove(namespace, item)
