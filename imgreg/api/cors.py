"""``CorsRequestsOnly``: oslo.middleware's CORS filter, for the requests it can change.

oslo's ``CORS`` is a ``wsgify`` middleware: every request through it gets a WebOb request, a
default response and an ``inspect.getfullargspec`` of its ``process_response``, about a tenth
of the server's CPU for a small GET. Yet it changes nothing of a request that carries no
``Origin`` header and is not ``OPTIONS``: such a request is not a CORS request, its response
gets no CORS headers, and only an ``OPTIONS`` response is ever replaced (a non-2xx one by an
empty 200, with or without an ``Origin``). So those requests go straight to the app, and the
rest, byte for byte as before, through oslo's filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class CorsRequestsOnly:
    def __init__(self, app: Any, cors: Any) -> None:
        self.app = app
        self.cors = cors  # oslo_middleware.cors.CORS wrapping the same app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if "HTTP_ORIGIN" in environ or environ.get("REQUEST_METHOD") == "OPTIONS":
            return self.cors(environ, start_response)
        return self.app(environ, start_response)
