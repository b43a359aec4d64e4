"""The metadef chains, built in one place.

Outer to inner, as for images: authorization → notifier → policy → the SQL repository
(property protection, quota and location guard nothing here; Glance has no metadef quotas).
Controllers get the outermost object. Each ``build_*`` function lists the layers bottom
first. The chains of what a namespace holds take the namespace, already loaded through
``build_namespace_repo``.
"""

from __future__ import annotations

from typing import TypeVar

from imgreg.context import RequestContext
from imgreg.db.metadefs import children as sql_children
from imgreg.db.metadefs.namespaces import SqlNamespaceRepo
from imgreg.db.metadefs.resource_types import SqlResourceTypeRepo
from imgreg.domain.metadef import MetadefObject, MetadefProperty, MetadefTag, Namespace
from imgreg.layers.metadefs import associations as assoc
from imgreg.layers.metadefs import children
from imgreg.layers.metadefs import namespaces as ns
from imgreg.layers.metadefs.payloads import OBJECT_KIND, PROPERTY_KIND, TAG_KIND
from imgreg.services import Services

T = TypeVar("T", MetadefObject, MetadefProperty, MetadefTag)


def build_namespace_repo(ctx: RequestContext, svc: Services) -> ns.NamespaceRepo:
    repo: ns.NamespaceRepo = SqlNamespaceRepo(svc.db)
    repo = ns.PolicyNamespaceRepo(repo, ctx, svc.policy)
    repo = ns.NotifierNamespaceRepo(repo, ctx, svc.notifier)
    repo = ns.AuthorizationNamespaceRepo(repo, ctx)
    return repo


def discard_namespace(svc: Services, namespace: Namespace) -> None:
    """Remove a namespace that its create could not finish, with whatever of it was created
    (even when protected: it was never whole). No layer guards it: the caller just made it."""
    SqlNamespaceRepo(svc.db).remove(namespace, force=True)


def _build_child_repo(
    ctx: RequestContext,
    svc: Services,
    namespace: Namespace,
    codec: sql_children.Codec[T],
    kind: children.Kind[T],
) -> children.ChildRepo[T]:
    repo: children.ChildRepo[T] = sql_children.SqlChildRepo(svc.db, namespace, codec)
    repo = children.PolicyChildRepo(repo, ctx, namespace, kind, svc.policy)
    repo = children.NotifierChildRepo(repo, ctx, namespace, kind, svc.notifier)
    repo = children.AuthorizationChildRepo(repo, ctx, namespace, kind)
    return repo


def build_object_repo(
    ctx: RequestContext, svc: Services, namespace: Namespace
) -> children.ChildRepo[MetadefObject]:
    return _build_child_repo(ctx, svc, namespace, sql_children.OBJECTS, OBJECT_KIND)


def build_property_repo(
    ctx: RequestContext, svc: Services, namespace: Namespace
) -> children.ChildRepo[MetadefProperty]:
    return _build_child_repo(ctx, svc, namespace, sql_children.PROPERTIES, PROPERTY_KIND)


def build_tag_repo(
    ctx: RequestContext, svc: Services, namespace: Namespace
) -> children.ChildRepo[MetadefTag]:
    return _build_child_repo(ctx, svc, namespace, sql_children.TAGS, TAG_KIND)


def build_resource_type_repo(ctx: RequestContext, svc: Services) -> assoc.ResourceTypeRepo:
    repo: assoc.ResourceTypeRepo = SqlResourceTypeRepo(svc.db)
    repo = assoc.PolicyResourceTypeRepo(repo, ctx, svc.policy)
    repo = assoc.NotifierResourceTypeRepo(repo, ctx, svc.notifier)
    repo = assoc.AuthorizationResourceTypeRepo(repo, ctx)
    return repo
