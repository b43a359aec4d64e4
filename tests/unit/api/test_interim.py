"""When the ``104`` of the IETF resumable uploads draft is written to the client socket, and
what it says (``imgreg.api.interim``); the real exchange through gunicorn is in
tests/e2e/test_resumable_uploads.py."""

from __future__ import annotations

from typing import Any

import pytest

from imgreg.api import interim

URL = "http://h/v2/images/i/file/uploads/s"


class Sock:
    def __init__(self, error: OSError | None = None) -> None:
        self.sent = b""
        self.error = error

    def sendall(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.sent += data


def environ(sock: Any, **more: Any) -> dict[str, Any]:
    return {
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_UPLOAD_DRAFT_INTEROP_VERSION": "6",
        "gunicorn.socket": sock,
        **more,
    }


def test_the_104_names_the_upload():
    sock = Sock()
    assert interim.send_upload_url(environ(sock), URL)
    assert sock.sent == (
        b"HTTP/1.1 104 Upload Resumption Supported\r\n"
        b"Location: " + URL.encode() + b"\r\n"
        b"Upload-Draft-Interop-Version: 6\r\n\r\n"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"HTTP_UPLOAD_DRAFT_INTEROP_VERSION": None},  # the client did not ask
        {"SERVER_PROTOCOL": "HTTP/1.0"},  # no 1xx in HTTP/1.0
        {"gunicorn.socket": None},  # a server that does not offer its socket (uWSGI)
    ],
    ids=["not-asked", "http-1.0", "no-socket"],
)
def test_no_104_when(change):
    sock = Sock()
    env = environ(sock, **change)
    env = {key: value for key, value in env.items() if value is not None}
    assert not interim.send_upload_url(env, URL)
    assert sock.sent == b""


def test_a_client_gone_before_the_104_is_not_an_error():
    assert not interim.send_upload_url(environ(Sock(BrokenPipeError())), URL)
