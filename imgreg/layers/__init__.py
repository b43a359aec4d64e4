"""The proxy chain, built in one place.

Outer to inner: authorization → property protection → notifier → policy → quota → location →
domain (``ImageFactory`` / ``SqlImageRepo``); the member and task chains keep that order, with
the layers that guard something there. Controllers get the outermost object and never
see the others. Each ``build_*`` function lists the layers bottom first, so the last line is
the outermost one.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from imgreg.context import RequestContext
from imgreg.db.members import SqlMemberRepo
from imgreg.db.repo import SqlImageRepo, upload_lease
from imgreg.db.tasks import SqlTaskRepo
from imgreg.domain import ports
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import Image
from imgreg.domain.ports import ImageRepo, MemberLookup, MemberRepo, RecordRepo, TaskRepo
from imgreg.layers.authorization import AuthorizationImageFactory, AuthorizationImageRepo
from imgreg.layers.location import LocationImageFactory, LocationImageRepo
from imgreg.layers.members.authorization import AuthorizationMemberRepo
from imgreg.layers.members.notifier import NotifierMemberRepo
from imgreg.layers.members.policy import PolicyMemberRepo
from imgreg.layers.members.quota import QuotaMemberRepo
from imgreg.layers.notifier import NotifierImageFactory, NotifierImageRepo
from imgreg.layers.policy import PolicyImageFactory, PolicyImageRepo
from imgreg.layers.property_protection import (
    PropertyProtectionImageFactory,
    PropertyProtectionImageRepo,
)
from imgreg.layers.quota import QuotaImageFactory, QuotaImageRepo
from imgreg.layers.tasks.authorization import AuthorizationTaskRepo
from imgreg.layers.tasks.notifier import NotifierTaskRepo
from imgreg.layers.tasks.policy import PolicyTaskRepo
from imgreg.services import Services


class DomainRepo(RecordRepo, Protocol):
    """What the chain is built over: the records, and who is a member of an image."""

    member_status: MemberLookup


def build_image_repo(
    ctx: RequestContext, svc: Services, domain: DomainRepo | None = None
) -> ImageRepo:
    """The image chain over ``domain`` (the database's ``SqlImageRepo`` unless a test gives
    another), which also answers the membership questions of authorization and policy."""
    records = domain if domain is not None else SqlImageRepo(svc.db, upload_lease(svc.conf))
    members = records.member_status
    repo: ImageRepo = LocationImageRepo(records, ctx, svc.store, svc.conf)
    repo = QuotaImageRepo(repo, ctx, svc.conf)
    repo = PolicyImageRepo(repo, ctx, svc.policy, members)
    repo = NotifierImageRepo(repo, ctx, svc.notifier)
    repo = PropertyProtectionImageRepo(repo, ctx, svc.property_rules)
    repo = AuthorizationImageRepo(repo, ctx, members)
    return repo


def build_image_factory(
    ctx: RequestContext, svc: Services, domain: ports.ImageFactory | None = None
) -> ports.ImageFactory:
    factory: ports.ImageFactory = domain if domain is not None else ImageFactory()
    factory = LocationImageFactory(factory, ctx)
    factory = QuotaImageFactory(factory, ctx, svc.conf)
    factory = PolicyImageFactory(factory, ctx, svc.policy)
    factory = NotifierImageFactory(factory, ctx)
    factory = PropertyProtectionImageFactory(factory, ctx, svc.property_rules)
    factory = AuthorizationImageFactory(factory, ctx)
    return factory


def build_member_repo(
    ctx: RequestContext, svc: Services, image: Image, domain: MemberRepo | None = None
) -> MemberRepo:
    """The members of ``image`` (already loaded through ``build_image_repo``). Same order as
    the image chain, without property protection and location, which guard nothing here."""
    repo: MemberRepo = domain if domain is not None else SqlMemberRepo(svc.db, image.id)
    repo = QuotaMemberRepo(repo, ctx, image, svc.conf)
    repo = PolicyMemberRepo(repo, ctx, image, svc.policy)
    repo = NotifierMemberRepo(repo, ctx, image, svc.notifier)
    repo = AuthorizationMemberRepo(repo, ctx, image)
    return repo


def _sql_task_repo(svc: Services) -> SqlTaskRepo:
    return SqlTaskRepo(svc.db, dt.timedelta(hours=svc.conf.task.task_time_to_live))


def build_task_repo(ctx: RequestContext, svc: Services, domain: TaskRepo | None = None) -> TaskRepo:
    """The task chain of the tasks API over ``domain`` (the database's ``SqlTaskRepo``
    unless a test gives another)."""
    repo: TaskRepo = domain if domain is not None else _sql_task_repo(svc)
    repo = PolicyTaskRepo(repo, ctx, svc.policy)
    repo = NotifierTaskRepo(repo, ctx, svc.notifier)
    repo = AuthorizationTaskRepo(repo, ctx)
    return repo


def build_internal_task_repo(ctx: RequestContext, svc: Services) -> TaskRepo:
    """The tasks the import flow records for any caller it runs for: notifications only,
    no tasks API rules (the import's own rules already admitted the caller)."""
    return NotifierTaskRepo(_sql_task_repo(svc), ctx, svc.notifier)
