"""One request id in the access line and in the application log lines of a request (and in
the balancer's log, ``test_cluster.py``): a request can be followed across nodes."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import requests

# tools/test's first pass only: request ids in the logs do not depend on the engine
pytestmark = pytest.mark.first_pass


def test_application_log_lines_name_the_request(server) -> None:
    image = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=10,
    ).json()
    rid = f"req-{uuid.uuid4()}"
    # an upload cut short by the client: the worker logs that the body could not be read
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"PUT /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n"
            f"X-Openstack-Request-Id: {rid}\r\n\r\n".encode()
            + b"x" * 1000
        )
    deadline = time.monotonic() + 15
    while f"[{rid}] upload body could not be read" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)
    # outside a request: start-up lines say [-]
    assert "imgreg.cmd.api [-] start-up reaper" in server.log()
