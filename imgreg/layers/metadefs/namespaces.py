"""The namespace chain: authorization → notifier → policy around ``SqlNamespaceRepo``.

Notifications are Glance's ``metadef_namespace.*`` event types and payloads.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import isotime, isotime_or_none, utcnow
from imgreg.domain.metadef import Namespace, namespace_not_found
from imgreg.domain.metadef_query import NamespaceQuery, Viewer
from imgreg.layers.metadefs.common import MetadefPolicy, check_may_change, may_see
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier

# What ``remove_children`` removes, and the event it sends.
CHILD_EVENTS = {
    "objects": "metadef_namespace.delete_objects",
    "properties": "metadef_namespace.delete_properties",
    "tags": "metadef_namespace.delete_tags",
}


class NamespaceRepo(Protocol):
    def get(self, name: str) -> Namespace: ...
    def list(self, query: NamespaceQuery) -> list[Namespace]: ...
    def add(self, namespace: Namespace) -> Namespace: ...
    def save(self, namespace: Namespace) -> Namespace: ...
    def remove(self, namespace: Namespace) -> None: ...
    def remove_children(self, namespace: Namespace, kind: str) -> None: ...


class NamespaceRepoLayer:
    """Pass each call to the inner repo; subclasses override only what they guard."""

    def __init__(self, inner: NamespaceRepo, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def get(self, name: str) -> Namespace:
        return self.inner.get(name)

    def list(self, query: NamespaceQuery) -> list[Namespace]:
        return self.inner.list(query)

    def add(self, namespace: Namespace) -> Namespace:
        return self.inner.add(namespace)

    def save(self, namespace: Namespace) -> Namespace:
        return self.inner.save(namespace)

    def remove(self, namespace: Namespace) -> None:
        self.inner.remove(namespace)

    def remove_children(self, namespace: Namespace, kind: str) -> None:
        self.inner.remove_children(namespace, kind)


class AuthorizationNamespaceRepo(NamespaceRepoLayer):
    """Visibility on reads (also in the SQL of a list); owner or admin for every change; a
    non-admin creates namespaces of their own project only."""

    def get(self, name: str) -> Namespace:
        namespace = self.inner.get(name)
        if not may_see(self.ctx, namespace):
            raise namespace_not_found(name)
        return namespace

    def list(self, query: NamespaceQuery) -> list[Namespace]:
        viewer = Viewer(admin=self.ctx.is_admin, project=self.ctx.project_id)
        return self.inner.list(dataclasses.replace(query, viewer=viewer))

    def add(self, namespace: Namespace) -> Namespace:
        project = self.ctx.project_id
        if not self.ctx.is_admin and (project is None or namespace.owner != project):
            raise errors.Forbidden(
                f"You are not permitted to create namespace owned by '{namespace.owner}'"
            )
        return self.inner.add(namespace)

    def save(self, namespace: Namespace) -> Namespace:
        check_may_change(self.ctx, namespace)
        return self.inner.save(namespace)

    def remove(self, namespace: Namespace) -> None:
        check_may_change(self.ctx, namespace)
        self.inner.remove(namespace)

    def remove_children(self, namespace: Namespace, kind: str) -> None:
        check_may_change(self.ctx, namespace)
        self.inner.remove_children(namespace, kind)


def namespace_payload(namespace: Namespace, **extra: Any) -> dict[str, Any]:
    """Glance's ``format_metadef_namespace_notification``."""
    return {
        "namespace": namespace.namespace,
        "namespace_old": namespace.namespace,
        "display_name": namespace.display_name,
        "protected": namespace.protected,
        "visibility": namespace.visibility,
        "owner": namespace.owner,
        "description": namespace.description,
        "created_at": isotime_or_none(namespace.created_at),
        "updated_at": isotime_or_none(namespace.updated_at),
        "deleted": False,
        "deleted_at": None,
        **extra,
    }


class NotifierNamespaceRepo(NamespaceRepoLayer):
    def __init__(self, inner: NamespaceRepo, ctx: RequestContext, notifier: Notifier) -> None:
        super().__init__(inner, ctx)
        self.notifier = notifier

    def add(self, namespace: Namespace) -> Namespace:
        namespace = self.inner.add(namespace)
        self.notifier.info("metadef_namespace.create", namespace_payload(namespace))
        return namespace

    def save(self, namespace: Namespace) -> Namespace:
        old = namespace.loaded_name or namespace.namespace
        namespace = self.inner.save(namespace)
        payload = namespace_payload(namespace, namespace_old=old)
        self.notifier.info("metadef_namespace.update", payload)
        return namespace

    def remove(self, namespace: Namespace) -> None:
        self.inner.remove(namespace)
        payload = namespace_payload(namespace, deleted=True, deleted_at=isotime(utcnow()))
        self.notifier.info("metadef_namespace.delete", payload)

    def remove_children(self, namespace: Namespace, kind: str) -> None:
        self.inner.remove_children(namespace, kind)
        self.notifier.info(CHILD_EVENTS[kind], namespace_payload(namespace))


class PolicyNamespaceRepo(NamespaceRepoLayer):
    """The namespace rules of ``imgreg.rules.metadef_policy``; a list shows only the namespaces
    ``get_metadef_namespace`` allows."""

    def __init__(self, inner: NamespaceRepo, ctx: RequestContext, policy: Policy) -> None:
        super().__init__(inner, ctx)
        self.rules = MetadefPolicy(ctx, policy)

    def get(self, name: str) -> Namespace:
        namespace = self.inner.get(name)
        self.rules.enforce("get_metadef_namespace", namespace)
        return namespace

    def list(self, query: NamespaceQuery) -> list[Namespace]:
        self.rules.enforce_global("get_metadef_namespaces")
        return [ns for ns in self.inner.list(query) if self.rules.can_see(ns)]

    def add(self, namespace: Namespace) -> Namespace:
        self.rules.enforce_global("add_metadef_namespace")
        return self.inner.add(namespace)

    def save(self, namespace: Namespace) -> Namespace:
        self.rules.enforce("modify_metadef_namespace", namespace)
        return self.inner.save(namespace)

    def remove(self, namespace: Namespace) -> None:
        self.rules.enforce("delete_metadef_namespace", namespace)
        self.inner.remove(namespace)

    def remove_children(self, namespace: Namespace, kind: str) -> None:
        self.rules.enforce("delete_metadef_namespace", namespace)
        if kind == "tags":
            self.rules.enforce("delete_metadef_tags", namespace)
        self.inner.remove_children(namespace, kind)
