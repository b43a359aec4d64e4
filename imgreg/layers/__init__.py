"""The proxy chain, built in one place.

Outer to inner: authorization → property protection → notifier → policy → quota → location →
domain (``ImageFactory`` / ``SqlImageRepo``). Controllers get the outermost object and never
see the others. Each ``build_*`` function lists the layers bottom first, so the last line is
the outermost one.
"""

from __future__ import annotations

from typing import Any

from imgreg.context import RequestContext
from imgreg.db.members import SqlMemberRepo
from imgreg.db.repo import SqlImageRepo, upload_lease
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import Image
from imgreg.layers.authorization import AuthorizationImageFactory, AuthorizationImageRepo
from imgreg.layers.location import LocationImageFactory, LocationImageRepo
from imgreg.layers.members import (
    AuthorizationMemberRepo,
    NotifierMemberRepo,
    PolicyMemberRepo,
    QuotaMemberRepo,
)
from imgreg.layers.notifier import NotifierImageFactory, NotifierImageRepo
from imgreg.layers.policy import PolicyImageFactory, PolicyImageRepo
from imgreg.layers.property_protection import (
    PropertyProtectionImageFactory,
    PropertyProtectionImageRepo,
)
from imgreg.layers.quota import QuotaImageFactory, QuotaImageRepo
from imgreg.services import Services


def build_image_repo(ctx: RequestContext, svc: Services, domain: Any = None) -> Any:
    repo = domain if domain is not None else SqlImageRepo(svc.db, upload_lease(svc.conf))
    repo = LocationImageRepo(repo, ctx, svc.store, svc.conf)
    repo = QuotaImageRepo(repo, ctx, svc.conf)
    repo = PolicyImageRepo(repo, ctx, svc.policy)
    repo = NotifierImageRepo(repo, ctx, svc.notifier)
    repo = PropertyProtectionImageRepo(repo, ctx, svc.property_rules)
    repo = AuthorizationImageRepo(repo, ctx)
    return repo


def build_image_factory(ctx: RequestContext, svc: Services, domain: Any = None) -> Any:
    factory = domain if domain is not None else ImageFactory()
    factory = LocationImageFactory(factory, ctx)
    factory = QuotaImageFactory(factory, ctx, svc.conf)
    factory = PolicyImageFactory(factory, ctx, svc.policy)
    factory = NotifierImageFactory(factory, ctx)
    factory = PropertyProtectionImageFactory(factory, ctx, svc.property_rules)
    factory = AuthorizationImageFactory(factory, ctx)
    return factory


def build_member_repo(ctx: RequestContext, svc: Services, image: Image, domain: Any = None) -> Any:
    """The members of ``image`` (already loaded through ``build_image_repo``). Same order as
    the image chain, without property protection and location, which guard nothing here."""
    repo = domain if domain is not None else SqlMemberRepo(svc.db, image.id)
    repo = QuotaMemberRepo(repo, ctx, image, svc.conf)
    repo = PolicyMemberRepo(repo, ctx, image, svc.policy)
    repo = NotifierMemberRepo(repo, ctx, image, svc.notifier)
    repo = AuthorizationMemberRepo(repo, ctx, image)
    return repo
