"""The only place the long-lived objects of a process are built: configuration → ``Services``.

``services()`` builds them once per process (in each worker, after any fork) and ``reset()``
forgets them; the paste factories (``imgreg.wsgi``), the healthcheck and ``imgreg-manage`` ask
``services()`` for them.
"""

from __future__ import annotations

from oslo_config import cfg

from imgreg import conf as imgreg_conf
from imgreg.cache.cache import ImageCache
from imgreg.db.session import Database
from imgreg.domain.schema import ImageSchema, load_custom_properties
from imgreg.layers.quota import parse_storage_quota
from imgreg.rules.policy import Policy
from imgreg.rules.property_rules import PropertyRules
from imgreg.services import Services
from imgreg.services.messaging import Notifier
from imgreg.store import registry

_services: Services | None = None


def build_services(conf: cfg.ConfigOpts) -> Services:
    """Build everything a worker needs; raises a clear error on bad configuration."""
    schema_path = imgreg_conf.find_config_file(conf, conf.image_schema_file)
    custom, required = load_custom_properties(schema_path)
    schema = ImageSchema(
        conf.image_format.disk_formats,
        conf.image_format.container_formats,
        custom,
        required,
        permissive=conf.allow_additional_image_properties,
    )
    parse_storage_quota(conf.user_storage_quota)  # refuse to start on a malformed value
    policy = Policy(conf)
    if conf.property_protection_file:
        path = imgreg_conf.find_config_file(conf, conf.property_protection_file)
        rules = PropertyRules(
            path or conf.property_protection_file, conf.property_protection_rule_format, policy
        )
    else:
        rules = PropertyRules.allow_all()
    return Services(
        conf=conf,
        db=Database(conf.database.connection),
        store=registry.build(conf),
        policy=policy,
        notifier=Notifier(conf),
        schema=schema,
        property_rules=rules,
        cache=ImageCache(conf) if conf.image_cache_dir else None,
    )


def services() -> Services:
    global _services
    if _services is None:
        _services = build_services(imgreg_conf.CONF)
    return _services


def reset() -> None:
    """Forget the process's services (tests that change configuration)."""
    global _services
    if _services is not None:
        _services.db.dispose()
        # a cluster connection (RBD's) is closed before a fork: librados's threads would not
        # follow into the workers
        _services.store.close()
    _services = None
