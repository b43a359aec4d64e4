"""The chain is built in the card's order, outermost first."""

from __future__ import annotations

from imgreg import wsgi
from imgreg.db.repo import SqlImageRepo
from imgreg.domain.factory import ImageFactory
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
from tests.support.builders import member


def chain(outermost):
    classes = []
    node = outermost
    while node is not None:
        classes.append(type(node))
        node = getattr(node, "inner", None)
    return classes


def test_chain_order(conf):
    svc = wsgi.build_services(conf)
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
