"""Where image notifications go. The layer that decides *when* to send them is
``imgreg.layers.notifier``; this module only delivers ``(priority, event_type, payload)``.

Drivers: ``noop``; ``log`` (one JSON line per event on the ``imgreg.notifications`` logger);
``memory`` (kept in ``Notifier.sent``, for tests that run the app in process).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import logging
import uuid
from typing import Any

from oslo_config import cfg

LOG = logging.getLogger("imgreg.notifications")


class Notifier:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        group = conf.notifications
        self.driver = group.driver
        self.publisher_id = group.default_publisher_id
        self.disabled = list(group.disabled_notifications)
        self.sent: list[dict[str, Any]] = []

    def enabled(self, event_type: str) -> bool:
        return not any(fnmatch.fnmatchcase(event_type, pat) for pat in self.disabled)

    def info(self, event_type: str, payload: Any) -> None:
        self._send("INFO", event_type, payload)

    def error(self, event_type: str, payload: Any) -> None:
        self._send("ERROR", event_type, payload)

    def _send(self, priority: str, event_type: str, payload: Any) -> None:
        if self.driver == "noop" or not self.enabled(event_type):
            return
        message = {
            "message_id": str(uuid.uuid4()),
            "publisher_id": self.publisher_id,
            "event_type": event_type,
            "priority": priority,
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "payload": payload,
        }
        if self.driver == "memory":
            self.sent.append(message)
        else:
            LOG.info("%s", json.dumps(message, default=str, sort_keys=True))
