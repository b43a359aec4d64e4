"""``Services``: the long-lived objects of one process, built once by ``imgreg.wsgi``."""

from __future__ import annotations

import dataclasses

from oslo_config import cfg

from imgreg.cache.cache import ImageCache
from imgreg.db.session import Database
from imgreg.domain.schema import ImageSchema
from imgreg.rules.policy import Policy
from imgreg.rules.property_rules import PropertyRules
from imgreg.services.messaging import Notifier
from imgreg.store.registry import Stores


@dataclasses.dataclass
class Services:
    conf: cfg.ConfigOpts
    db: Database
    store: Stores  # every configured store, and a Store over them all
    policy: Policy
    notifier: Notifier
    schema: ImageSchema
    property_rules: PropertyRules
    cache: ImageCache | None = None  # with [DEFAULT] image_cache_dir only
