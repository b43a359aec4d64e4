"""Where image notifications go. The layer that decides *when* to send them is
``imgreg.layers.notifier``; this module only delivers ``(priority, event_type, payload)``.

Delivery is oslo.messaging's, as in Glance: ``[oslo_messaging_notifications] driver``
(``messagingv2`` for the message bus, ``log``, ``routing``, ``noop``…; none at all sends
nothing), ``transport_url`` and ``topics``; ``[DEFAULT] default_publisher_id`` and
``disabled_notifications`` are Glance's. One driver is imgreg's own: ``memory`` keeps each
message, in the envelope oslo.messaging would build, in ``Notifier.sent`` (for tests that run
the app in process) and never touches oslo.messaging.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from typing import Any

from oslo_config import cfg

from imgreg.conf import MESSAGING_GROUP
from imgreg.conf.notifications import oslo_messaging  # imported there without eventlet's warning


class Notifier:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.publisher_id = conf.default_publisher_id
        self.disabled = frozenset(conf.disabled_notifications)
        drivers = set(conf[MESSAGING_GROUP].driver)
        self.memory = "memory" in drivers
        self.on_bus = not self.memory and bool(drivers - {"noop"})
        self.sent: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._notifier: oslo_messaging.Notifier | None = None
        self._pid = 0

    def enabled(self, event_type: str) -> bool:
        """Not listed itself, nor its group as Glance names it (``image``), nor a pattern
        for one of its prefixes (``image.*``, ``image.member.*``)."""
        parts = event_type.split(".")
        patterns = {".".join(parts[:i]) + ".*" for i in range(1, len(parts))}
        return not self.disabled & {event_type, parts[0], *patterns}

    def info(self, event_type: str, payload: Any) -> None:
        self._send("INFO", event_type, payload)

    def error(self, event_type: str, payload: Any) -> None:
        self._send("ERROR", event_type, payload)

    def _send(self, priority: str, event_type: str, payload: Any) -> None:
        if not self.enabled(event_type):
            return
        if self.memory:
            self.sent.append(self._envelope(priority, event_type, payload))
        elif self.on_bus:
            # oslo.messaging logs and swallows delivery errors: a lost notification never fails
            # the request that caused it.
            send = getattr(self._oslo_notifier(), priority.lower())
            send({}, event_type, payload)

    def _oslo_notifier(self) -> oslo_messaging.Notifier:
        """Built on first use in each process: gunicorn forks its workers from a master that
        has loaded the app, and a broker connection must not be shared across a fork."""
        with self._lock:
            if self._notifier is None or self._pid != os.getpid():
                transport = oslo_messaging.get_notification_transport(self.conf)
                self._notifier = oslo_messaging.Notifier(transport, self.publisher_id)
                self._pid = os.getpid()
            return self._notifier

    def _envelope(self, priority: str, event_type: str, payload: Any) -> dict[str, Any]:
        return {
            "message_id": str(uuid.uuid4()),
            "publisher_id": self.publisher_id,
            "event_type": event_type,
            "priority": priority,
            "payload": payload,
            "timestamp": str(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
        }
