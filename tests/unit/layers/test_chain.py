"""The chain is built in the card's order, outermost first, and an upload passes it once."""

from __future__ import annotations

import collections
import io

from imgreg.db.repo import SqlImageRepo
from imgreg.domain.factory import ImageFactory
from imgreg.domain.ports import UploadTerms
from imgreg.layers import build_image_factory, build_image_repo
from imgreg.layers.authorization import AuthorizationImageFactory, AuthorizationImageRepo
from imgreg.layers.location import LocationImageFactory, LocationImageRepo
from imgreg.layers.notifier import NotifierImageFactory, NotifierImageRepo
from imgreg.layers.policy import PolicyImageFactory, PolicyImageRepo
from imgreg.layers.property_protection import (
    PropertyProtectionImageFactory,
    PropertyProtectionImageRepo,
)
from imgreg.layers.quota import QuotaImageFactory, QuotaImageRepo
from imgreg.rules.policy import Policy
from imgreg.rules.property_rules import PropertyRules
from imgreg.services import Services, wiring
from imgreg.services.messaging import Notifier
from imgreg.store.registry import Stores
from tests.support.builders import make_conf, make_image, member
from tests.unit.layers.recording import MemoryStore, RecordingLedger, RecordingRepo


def chain(outermost):
    classes = []
    node = outermost
    while node is not None:
        classes.append(type(node))
        node = getattr(node, "inner", None)
    return classes


def test_chain_order(conf):
    svc = wiring.build_services(conf)
    try:
        ctx = member()
        assert chain(build_image_repo(ctx, svc)) == [
            AuthorizationImageRepo,
            PropertyProtectionImageRepo,
            NotifierImageRepo,
            PolicyImageRepo,
            QuotaImageRepo,
            LocationImageRepo,
            SqlImageRepo,
        ]
        assert chain(build_image_factory(ctx, svc)) == [
            AuthorizationImageFactory,
            PropertyProtectionImageFactory,
            NotifierImageFactory,
            PolicyImageFactory,
            QuotaImageFactory,
            LocationImageFactory,
            ImageFactory,
        ]
    finally:
        svc.db.dispose()


class CountingPolicy(Policy):
    """The real rules, counting how often each is asked (``enforce`` asks ``check``)."""

    def __init__(self, conf):
        super().__init__(conf)
        self.checked = collections.Counter()

    def check(self, ctx, rule, target):
        self.checked[rule] += 1
        return super().check(ctx, rule, target)


def test_an_upload_passes_through_the_chain_once(monkeypatch):
    """Begin, write, commit: ``upload_image`` and ownership are checked once each. (Before
    the upload was a session, the chain saw the queued->saving save, the data and the final
    save: ``upload_image`` twice and ownership three times.)"""
    owner_checks = []
    check_owner = AuthorizationImageRepo._check_owner

    def counting_check_owner(self, image):
        owner_checks.append(image.id)
        check_owner(self, image)

    monkeypatch.setattr(AuthorizationImageRepo, "_check_owner", counting_check_owner)
    conf = make_conf()
    policy = CountingPolicy(conf)
    store = MemoryStore()
    svc = Services(
        # db: the records are the fake's
        conf=conf, db=None, store=Stores.single(store), policy=policy,
        notifier=Notifier(conf), schema=None, property_rules=PropertyRules.allow_all(),
    )  # fmt: skip
    stored = make_image(status="queued", disk_format="raw", container_format="bare")
    ledger = RecordingLedger(stored)
    records = RecordingRepo(get=stored, begin_upload=ledger, member_status=None)
    repo = build_image_repo(member(), svc, domain=records)

    image = repo.get(stored.id)  # as the controller: get, begin, write, commit
    image.begin_upload()
    upload = repo.begin_upload(image, UploadTerms())
    upload.write(io.BytesIO(b"x" * 1000), 1000)
    upload.commit()

    assert policy.checked["upload_image"] == 1
    assert len(owner_checks) == 1
    assert policy.checked == {"get_image": 1, "upload_image": 1}  # and nothing else
    assert records.names() == ["get", "begin_upload"]  # the records: once each
    assert ledger.names() == ["renew", "commit"]  # the rest goes to the upload's ledger
    assert ledger.calls[1].images[0].status == "active"
    assert store.blobs == {f"memory://{stored.id}": b"x" * 1000}
