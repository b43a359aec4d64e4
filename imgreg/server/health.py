"""``GET /healthcheck``: oslo.middleware's healthcheck app beside the API, and imgreg's
readiness check, the ``imgreg`` backend of that app.

The paste composite (``imgreg.wsgi.healthcheck_composite``) sends exactly ``/healthcheck`` to the
healthcheck app and everything else to the API pipeline, so the check needs no token in the
keystone flavor and costs no request id, context or policy. The app runs its ``[healthcheck]
backends`` in order (imgreg's defaults, ``imgreg.conf``):

* ``disable_by_file``: 503 ``DISABLED BY FILE`` while ``disable_by_file_path`` exists. Create
  it to drain a node: balancers stop sending new requests, requests in flight and requests sent
  to the node directly are still served.
* ``imgreg`` (``ReadinessCheck``): 503 unless the database answers ``SELECT 1`` and the store's
  ``check()`` passes, so a node that lost either leaves the pool until it has them back.

The body is ``OK`` or the failing backend's reason; ``[healthcheck] detailed = true`` adds the
error text (it may name hosts and paths, so it is off by default, as in oslo.middleware).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy
from oslo_middleware.healthcheck import pluginbase

from imgreg.services import wiring

LOG = logging.getLogger(__name__)
PATH = "/healthcheck"


class ReadinessCheck(pluginbase.HealthcheckBaseExtension):
    """Ready when the database and the store both answer; loaded by stevedore by the name
    ``imgreg`` (entry point group ``oslo.middleware.healthcheck``).

    One check runs at a time in a process. Balancers ask every second or so; against a
    database or store that hangs (up to its connect timeout, 10 s for the database), each
    check would otherwise hold one more server thread. A check that arrives while another
    runs gets that one's last answer if it started less than ``SLOW_SECONDS`` ago, else
    ``SLOW``: unready, as the hanging dependency makes the node.
    """

    SLOW_SECONDS = 2.0

    def __init__(self, oslo_conf: Any, conf: dict[str, Any]) -> None:
        super().__init__(oslo_conf, conf)
        self._lock = threading.Lock()
        self._started = 0.0
        self._last = pluginbase.HealthcheckResult(True, "OK")

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        if not self._lock.acquire(blocking=False):
            if time.monotonic() - self._started < self.SLOW_SECONDS:
                return self._last
            return pluginbase.HealthcheckResult(False, "SLOW", "the previous check still runs")
        try:
            self._started = time.monotonic()
            self._last = self._check()
            return self._last
        finally:
            self._lock.release()

    def _check(self) -> pluginbase.HealthcheckResult:
        svc = wiring.services()
        try:
            with svc.db.query() as conn:
                conn.execute(sqlalchemy.text("SELECT 1"))
        except Exception as exc:
            LOG.warning("healthcheck: database unavailable: %s", exc)
            return pluginbase.HealthcheckResult(False, "DATABASE UNAVAILABLE", str(exc))
        try:
            svc.store.check()
        except Exception as exc:
            LOG.warning("healthcheck: store unavailable: %s", exc)
            return pluginbase.HealthcheckResult(False, "STORE UNAVAILABLE", str(exc))
        return pluginbase.HealthcheckResult(True, "OK")


class HealthcheckRouter:
    """Exactly ``/healthcheck`` (any method the app accepts) to ``health``, the rest to ``api``."""

    def __init__(self, api: Any, health: Any) -> None:
        self.api = api
        self.health = health

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in (PATH, PATH + "/"):
            return self.health(environ, start_response)
        return self.api(environ, start_response)
