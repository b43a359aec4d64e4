"""Every configuration option imgreg reads, and ``list_opts()`` for oslo-config-generator.

Nothing else in imgreg declares options or reads configuration files; code receives the
``cfg.ConfigOpts`` object (usually ``imgreg.conf.CONF``) and looks values up on it. The
options live in one module per group or family (``server``, ``images``, ``quota``,
``notifications``, ``paste``, ``database``, ``store``, ``image_format``, ``healthcheck``,
``cors``, ``importing``);
this module puts them in their groups, registers them on ``CONF`` and re-exports them.
``etc/imgreg-api.conf`` is generated from ``list_opts()`` (etc/imgreg-config-generator.conf).
"""

from __future__ import annotations

import os

from oslo_config import cfg

from imgreg.conf.cache import cache_opts
from imgreg.conf.cors import cors_opts
from imgreg.conf.database import database_opts
from imgreg.conf.healthcheck import healthcheck_group_opts
from imgreg.conf.image_format import CONTAINER_FORMATS, DISK_FORMATS, format_opts
from imgreg.conf.images import image_opts
from imgreg.conf.importing import (
    conversion_opts,
    filtering_opts,
    glance_download_opts,
    import_opts,
    inject_opts,
    plugin_opts,
    task_opts,
)
from imgreg.conf.notifications import MESSAGING_GROUP, notification_opts, register_messaging_opts
from imgreg.conf.paste import paste_opts
from imgreg.conf.quota import quota_opts
from imgreg.conf.server import server_opts
from imgreg.conf.store import multistore_opts, store_opts

__all__ = [
    "CONF",
    "CONTAINER_FORMATS",
    "DISK_FORMATS",
    "GROUPS",
    "MESSAGING_GROUP",
    "cache_opts",
    "database_opts",
    "find_config_file",
    "format_opts",
    "image_opts",
    "list_opts",
    "notification_opts",
    "parse",
    "paste_opts",
    "quota_opts",
    "register",
    "server_opts",
    "store_opts",
]

CONF = cfg.ConfigOpts()

DEFAULT_OPTS = (
    server_opts + image_opts + quota_opts + notification_opts + import_opts + multistore_opts
) + cache_opts

GROUPS = {
    None: DEFAULT_OPTS,
    "paste_deploy": paste_opts,
    "database": database_opts,
    "glance_store": store_opts,
    "image_format": format_opts,
    "healthcheck": healthcheck_group_opts,
    "cors": cors_opts,
    "import_filtering_opts": filtering_opts,
    "image_import_opts": plugin_opts,
    "image_conversion": conversion_opts,
    "inject_metadata_properties": inject_opts,
    "glance_download_properties": glance_download_opts,
    "task": task_opts,
}


def register(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    for group, opts in GROUPS.items():
        conf.register_opts(opts, group=group)
    register_messaging_opts(conf)
    return conf


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """For oslo-config-generator (namespace ``imgreg``)."""
    return [(group, list(opts)) for group, opts in GROUPS.items()]  # type: ignore[call-overload]


def parse(args: list[str] | None = None, conf: cfg.ConfigOpts = CONF) -> cfg.ConfigOpts:
    conf(args=args if args is not None else [], project="imgreg", prog="imgreg-api")
    return conf


def find_config_file(conf: cfg.ConfigOpts, name: str) -> str | None:
    """Resolve ``name`` against the directories of the loaded configuration files."""
    if os.path.isabs(name):
        return name if os.path.exists(name) else None
    for path in conf.config_file or []:
        candidate = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        if os.path.exists(candidate):
            return candidate
    found = conf.find_file(name)
    return os.path.abspath(found) if found else None


register(CONF)
