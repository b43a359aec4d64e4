"""/healthcheck over HTTP from ``imgreg-api`` (gunicorn workers): what a balancer sees, and
draining by the drain file while the API keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

# tools/test's first pass only (SQLite, ``first_pass``): the health check's database probe is tested
# on every engine by tests/functional/test_healthcheck.py
pytestmark = pytest.mark.first_pass


def test_healthcheck_and_drain_over_http(server) -> None:
    resp = requests.get(f"{server.url}/healthcheck", timeout=10)
    assert (resp.status_code, resp.text) == (200, "OK\nOK")
    assert requests.head(f"{server.url}/healthcheck", timeout=10).status_code == 204

    drain = Path(server.conf_path).parent / "healthcheck_disable"  # $state_path/…
    drain.touch()
    for _ in range(4):  # every worker sees it at once: the file is looked at per request
        resp = requests.get(f"{server.url}/healthcheck", timeout=10)
        assert resp.status_code == 503
        assert "DISABLED BY FILE" in resp.text
    assert requests.get(f"{server.url}/v2/images", timeout=10).status_code == 200
    drain.unlink()
    assert requests.get(f"{server.url}/healthcheck", timeout=10).status_code == 200
    assert 'GET /healthcheck HTTP/1.1" 200' in server.access_log()
