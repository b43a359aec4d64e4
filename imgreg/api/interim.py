"""``104 Upload Resumption Supported`` (the IETF "Resumable Uploads for HTTP" draft): an
interim response that tells a client the URL of the upload it has begun to send, before the
body, so that an upload cut in its first request can be resumed too (the ``201`` carrying the
same ``Location`` only comes after the last byte).

WSGI has no interim responses. The server imgreg ships (gunicorn, with
``imgreg.server.worker``) hands the app its client socket as ``environ["gunicorn.socket"]``,
and nothing of the final response has been written when the app starts reading the body, so
the interim response is written there, whole, first. It is sent only when all of these hold:

* the client asked for the draft's protocol (it sent ``Upload-Draft-Interop-Version``, which
  the draft's clients send and plain scripts do not): a client or proxy that does not expect
  a 1xx never gets one;
* the request is HTTP/1.1 (HTTP/1.0 has no 1xx responses);
* the server offers the socket (under uWSGI or a test harness there is none: nothing is sent,
  and the client learns the URL from the ``201`` as before).
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)

STATUS = b"HTTP/1.1 104 Upload Resumption Supported\r\n"
# the draft revision whose interop version this server's messages follow
INTEROP_VERSION = "6"


def send_upload_url(environ: dict[str, Any], location: str) -> bool:
    """Write the ``104`` naming ``location``, when the request and the server allow it;
    whether it was sent."""
    if "HTTP_UPLOAD_DRAFT_INTEROP_VERSION" not in environ:
        return False
    if environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
        return False
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return False
    head = (
        STATUS
        + f"Location: {location}\r\n".encode("ascii")
        + f"Upload-Draft-Interop-Version: {INTEROP_VERSION}\r\n\r\n".encode("ascii")
    )
    try:
        sock.sendall(head)
    except OSError as exc:  # the client went away: the request fails on its body next
        LOG.info("104 not sent: %s", exc)
        return False
    return True
