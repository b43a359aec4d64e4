"""``tests.support.server.hang_up``: the e2e tests' stop of a server first ends this process's
connections to it, so that a stopping worker does not wait out its linger on each."""

from __future__ import annotations

import socket
import weakref

from tests.support.server import hang_up


class Gone:
    pass


def test_hang_up_ends_the_connections_to_the_port_and_no_other():
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_server(("127.0.0.1", 0)) as other,
    ):
        port = listener.getsockname()[1]
        held = socket.create_connection(("127.0.0.1", port))
        elsewhere = socket.create_connection(("127.0.0.1", other.getsockname()[1]))
        served, _ = listener.accept()
        served_elsewhere, _ = other.accept()
        # a dead weak proxy in the heap, as some libraries leave: asking it for its class
        # raises ReferenceError
        gone = Gone()
        proxy = weakref.proxy(gone)
        del gone
        try:
            served.settimeout(5)
            served_elsewhere.settimeout(0.2)
            hang_up(port)
            assert served.recv(1) == b""  # the end of the stream, at once
            try:
                data = served_elsewhere.recv(1)
            except TimeoutError:
                data = None
            assert data is None  # still open: another port's connection is left alone
        finally:
            for sock in (held, elsewhere, served, served_elsewhere):
                sock.close()
        assert proxy is not None
