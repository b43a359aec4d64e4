"""The application log of ``imgreg-api``: every line names the request it was written for.

``RequestIdMiddleware`` sets ``REQUEST_ID`` for the thread serving a request; the handler's
filter copies it onto each record, so a line reads
``2026-11-28 00:10:02,123 4242 WARNING imgreg.api.image_data [req-5b0c…] …`` and the same id is
in the access line of the request (``imgreg.server.accesslog``) and in the balancer's log: one
``grep`` follows a request across the balancer and every node. Lines written outside a request
(start-up, the reaper) show ``[-]``.
"""

from __future__ import annotations

import contextvars
import logging

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("imgreg_request_id", default="-")
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def setup(level: int = logging.INFO) -> None:
    """Log to stderr in ``FORMAT`` (imgreg-api's master and, forked, its workers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level, handlers=[handler])
