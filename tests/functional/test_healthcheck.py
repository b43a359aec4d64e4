"""GET/HEAD /healthcheck: oslo.middleware's app beside the API, with imgreg's readiness check
(database and store) and a drain file; no auth in either paste flavor."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from oslo_config import cfg

from imgreg.server.health import ReadinessCheck
from imgreg.services import wiring
from tests.support.client import Client, client_with

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/imgreg"


def test_healthy_node_answers_ok_without_identity(api: Client) -> None:
    resp = api.get("/healthcheck")
    assert resp.status_int == 200
    assert resp.content_type == "text/plain"
    assert resp.text.splitlines() == ["OK", "OK"]  # one line per backend
    assert api.request("HEAD", "/healthcheck").status_int == 204
    # not the API: no request id, no version negotiation
    assert "x-openstack-request-id" not in resp.headers


def test_keystone_flavor_needs_no_token_for_the_healthcheck(conf: cfg.ConfigOpts) -> None:
    client = client_with(conf, **{"paste_deploy.flavor": "keystone"})
    assert client.get("/healthcheck").status_int == 200
    # auth_token registered [keystone_authtoken] on loading; with the public endpoint known,
    # it refuses a token-less API request without asking Keystone anything
    client = client_with(conf, **{"keystone_authtoken.www_authenticate_uri": "http://127.0.0.1:1"})
    assert client.get("/v2/images").status_int == 401


def test_only_the_exact_path_is_the_healthcheck(api: Client) -> None:
    assert api.get("/healthcheck/").status_int == 200
    assert api.get("/healthcheckx").status_int == 300  # the API's versions document
    assert api.get("/v2/healthcheck").status_int == 404


def test_drain_file_answers_503_while_the_api_still_serves(
    api: Client, conf: cfg.ConfigOpts
) -> None:
    drain = Path(conf.healthcheck.disable_by_file_path)
    assert drain.parent == Path(conf.state_path)
    drain.write_text("")
    resp = api.get("/healthcheck")
    assert resp.status_int == 503
    assert "DISABLED BY FILE" in resp.text
    assert api.request("HEAD", "/healthcheck").status_int == 503
    assert api.get("/v2/images").status_int == 200  # requests sent to it are still served
    drain.unlink()
    assert api.get("/healthcheck").status_int == 200


def test_database_that_does_not_answer_is_not_ready(conf: cfg.ConfigOpts) -> None:
    client = client_with(conf, **{"database.connection": DEAD_DATABASE})
    resp = client.get("/healthcheck")
    assert resp.status_int == 503
    assert "DATABASE UNAVAILABLE" in resp.text
    assert "127.0.0.1" not in resp.text  # details only when [healthcheck] detailed = true


def test_store_that_is_gone_is_not_ready(api: Client, store_dir: Path) -> None:
    assert api.get("/healthcheck").status_int == 200
    shutil.rmtree(store_dir)  # an unmounted or deleted store directory
    resp = api.get("/healthcheck")
    assert resp.status_int == 503
    assert "STORE UNAVAILABLE" in resp.text


def test_detailed_json_names_each_backend(conf: cfg.ConfigOpts) -> None:
    client = client_with(conf, **{"healthcheck.detailed": True})
    resp = client.get("/healthcheck", headers={"Accept": "application/json"})
    assert resp.status_int == 200
    assert resp.json["detailed"] is True
    assert [r["reason"] for r in resp.json["reasons"]] == ["OK", "OK"]


def test_backends_are_configurable(conf: cfg.ConfigOpts) -> None:
    """Only the drain file: a node stays in the pool with its database down (liveness)."""
    client = client_with(
        conf,
        **{"database.connection": DEAD_DATABASE, "healthcheck.backends": ["disable_by_file"]},
    )
    assert client.get("/healthcheck").status_int == 200


def test_a_declined_source_gets_404(conf: cfg.ConfigOpts) -> None:
    """oslo.middleware lets requests from outside allowed_source_ranges through to the
    application it wraps: there is none behind the healthcheck app, so 404."""
    client = client_with(conf, **{"healthcheck.allowed_source_ranges": ["10.0.0.0/8"]})
    # Request.blank comes from no address, which is outside any range
    resp = client.get("/healthcheck", headers={"Accept": "text/plain"})
    assert resp.status_int == 404


def test_one_check_at_a_time_against_a_hanging_store(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hanging dependency ties up one thread per process, not one per balancer poll."""
    assert api.get("/healthcheck").status_int == 200
    entered, release = threading.Event(), threading.Event()

    def hang() -> None:
        entered.set()
        release.wait(30)

    monkeypatch.setattr(wiring.services().store, "check", hang)
    first = threading.Thread(target=api.get, args=("/healthcheck",))
    first.start()
    try:
        assert entered.wait(10)
        assert api.get("/healthcheck").status_int == 200  # just started: its last answer
        monkeypatch.setattr(ReadinessCheck, "SLOW_SECONDS", 0.0)
        resp = api.get("/healthcheck")
        assert resp.status_int == 503
        assert "SLOW" in resp.text
    finally:
        release.set()
        first.join(10)
