"""The paste-deploy app and filters, over the process's ``Services`` (``imgreg.services.wiring``).

``imgreg-api`` parses the configuration and serves the paste pipeline. Another WSGI server can
serve ``imgreg.wsgi:application`` instead; it reads ``IMGREG_CONFIG_FILE`` (default
``etc/imgreg-api.conf``), and each of its worker processes starts the periodic reaper
(``imgreg.maintenance.reaper``) with the app.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import webob.exc
from oslo_config import cfg
from oslo_utils import strutils
from paste import deploy

from imgreg import conf as imgreg_conf
from imgreg.api.middleware import (
    ContextMiddleware,
    RequestIdMiddleware,
    VersionNegotiationMiddleware,
)
from imgreg.api.router import Router
from imgreg.api.versions import minors
from imgreg.maintenance import cache_upkeep, reaper
from imgreg.server import logs, uwsgi_input
from imgreg.server.health import PATH as HEALTHCHECK_PATH
from imgreg.server.health import HealthcheckRouter
from imgreg.services.wiring import services


# -- paste-deploy factories -----------------------------------------------------------------
def app_factory(global_conf: dict[str, Any], **local_conf: Any) -> Router:
    return Router(services())


def request_id_filter(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    return lambda app: RequestIdMiddleware(app, services())


def context_filter(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """``anonymous_admin = true`` (the noauth pipeline only): no identity headers = admin."""
    anonymous_admin = strutils.bool_from_string(local_conf.get("anonymous_admin", False))
    return lambda app: ContextMiddleware(app, services(), anonymous_admin=anonymous_admin)


def authtoken_filter(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """keystonemiddleware's ``auth_token``, reading ``[keystone_authtoken]`` from the
    configuration imgreg-api was started with (``oslo_config_project`` alone would look for
    ``imgreg.conf`` in the standard directories instead); paste options still override it."""
    from keystonemiddleware import auth_token  # only the keystone flavor needs it

    return auth_token.filter_factory(global_conf, oslo_config_config=imgreg_conf.CONF, **local_conf)


def version_filter(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    svc = services()
    return lambda app: VersionNegotiationMiddleware(
        app, svc, minors(svc.store.multiple, svc.cache is not None)
    )


def cors_filter(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """oslo.middleware's CORS filter, reading ``[cors]`` from imgreg's configuration (with
    Glance's defaults, ``imgreg.conf.cors``); options in the paste section override it.
    Requests that cannot be CORS requests skip it (``imgreg.api.cors``)."""
    from oslo_middleware import cors

    from imgreg.api.cors import CorsRequestsOnly

    for name, value in local_conf.items():
        imgreg_conf.CONF.set_override(name, value, group="cors")
    return lambda app: CorsRequestsOnly(app, cors.CORS(app, imgreg_conf.CONF))


def healthcheck_app(global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """oslo.middleware's healthcheck app, reading ``[healthcheck]`` from imgreg's configuration;
    options in the paste section (Glance sets ``backends`` there) override it. A request it
    declines (``allowed_source_ranges``, ``ignore_proxied_requests``) gets 404."""
    from oslo_middleware import healthcheck

    for name, value in local_conf.items():
        imgreg_conf.CONF.set_override(name, value, group="healthcheck")
    return healthcheck.Healthcheck(webob.exc.HTTPNotFound(), imgreg_conf.CONF)


def healthcheck_composite(loader: Any, global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """Paste composite: ``/healthcheck`` (before any auth) to its app, the rest to ``/``."""
    api = loader.get_app(local_conf["/"], global_conf=global_conf)
    health = loader.get_app(local_conf[HEALTHCHECK_PATH], global_conf=global_conf)
    return HealthcheckRouter(api, health)


def load_app(conf: cfg.ConfigOpts = imgreg_conf.CONF) -> Any:
    paste_file = imgreg_conf.find_config_file(conf, conf.paste_deploy.config_file)
    if paste_file is None:
        raise RuntimeError(f"paste-deploy file {conf.paste_deploy.config_file} not found")
    flavor = conf.paste_deploy.flavor
    name = "imgreg-api" + (f"-{flavor}" if flavor else "")
    return deploy.loadapp(f"config:{paste_file}", name=name)


def init_application() -> Any:
    config_file = os.environ.get("IMGREG_CONFIG_FILE", "etc/imgreg-api.conf")
    imgreg_conf.parse(["--config-file", config_file])
    logs.setup()
    app = load_app()
    reaper.start(services, imgreg_conf.CONF)  # in the worker: this runs after any fork
    cache_upkeep.start(services, imgreg_conf.CONF)  # with image_cache_dir only
    return app


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """WSGI entry point for servers other than imgreg-api (built on first request; under
    uWSGI, see ``etc/imgreg-uwsgi.ini`` and ``imgreg.server.uwsgi_input``)."""
    global _app
    if _app is None:
        with _app_lock:  # the first requests of a threaded worker arrive together
            if _app is None:
                _app = init_application()
    uwsgi_input.adapt(environ, imgreg_conf.CONF.client_socket_timeout)
    return _app(environ, start_response)


_app: Any = None
_app_lock = threading.Lock()
