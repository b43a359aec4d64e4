"""``imgreg.server.frozen``: a worker's gunicorn settings as plain attributes, and the peer's
trust remembered per address, with gunicorn's answers unchanged."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn import config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from imgreg.server import frozen

HEAD = (
    b"GET /v2/images HTTP/1.1\r\nHost: example.test\r\n"
    b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"
)


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    frozen.Request._trusted.clear()
    yield
    frozen.Request._trusted.clear()


def parse(cfg: config.Config, peer: tuple[str, int], count: int = 1) -> list[Any]:
    parser = RequestParser(cfg, iter([HEAD] * count), peer)
    frozen.adopt(parser)
    return [next(parser) for _ in range(count)]


def environ(cfg: config.Config, req: Any, peer: tuple[str, int]) -> dict[str, Any]:
    class Sock:
        def sendall(self, data: bytes) -> None:
            pass

    return wsgi.create(req, Sock(), peer, ("127.0.0.1", 9292), cfg)[1]


def test_freeze_answers_settings_without_gunicorns_lookup(monkeypatch: Any) -> None:
    cfg = config.Config()
    cfg.set("limit_request_line", 1234)
    frozen.freeze(cfg)

    def no_lookup(self: Any, name: str) -> Any:
        raise AssertionError(f"Config.__getattr__({name!r}) after freeze")

    monkeypatch.setattr(config.Config, "__getattr__", no_lookup)
    assert cfg.limit_request_line == 1234
    assert cfg.forwarded_allow_ips == cfg.settings["forwarded_allow_ips"].get()
    # a whole request and its environ read no setting through __getattr__ either
    req = parse(cfg, ("127.0.0.1", 5000))[0]
    assert environ(cfg, req, ("127.0.0.1", 5000))["PATH_INFO"] == "/v2/images"


def test_freeze_leaves_properties_to_the_class() -> None:
    cfg = config.Config()
    frozen.freeze(cfg)
    assert "is_ssl" not in cfg.__dict__
    assert "worker_class" not in cfg.__dict__
    assert not cfg.is_ssl  # the property, computed from certfile and keyfile


def test_a_trusted_peer_sets_the_scheme_an_untrusted_one_does_not() -> None:
    cfg = config.Config()
    cfg.set("forwarded_allow_ips", "127.0.0.1")
    frozen.freeze(cfg)
    for _ in range(2):  # the second time from the memo
        trusted = parse(cfg, ("127.0.0.1", 5000))[0]
        untrusted = parse(cfg, ("198.51.100.7", 5000))[0]
        assert isinstance(trusted, frozen.Request)
        assert trusted.scheme == "https"
        assert untrusted.scheme == "http"
        assert environ(cfg, trusted, ("127.0.0.1", 5000))["wsgi.url_scheme"] == "https"
        assert environ(cfg, untrusted, ("198.51.100.7", 5000))["wsgi.url_scheme"] == "http"
    assert frozen.Request._trusted == {"127.0.0.1": True, "198.51.100.7": False}


def test_the_trust_is_looked_up_once_per_address(monkeypatch: Any) -> None:
    cfg = config.Config()
    frozen.freeze(cfg)
    seen: list[str] = []
    real = ipaddress.ip_address

    def counting(value: str) -> Any:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(ipaddress, "ip_address", counting)
    parse(cfg, ("127.0.0.1", 5000), count=5)
    parse(cfg, ("127.0.0.1", 5001), count=5)
    assert seen == ["127.0.0.1"]


def test_the_memo_starts_over_when_full(monkeypatch: Any) -> None:
    monkeypatch.setattr(frozen, "TRUST_CACHE_MAX", 3)
    cfg = config.Config()
    frozen.freeze(cfg)
    for last in range(1, 6):
        parse(cfg, (f"192.0.2.{last}", 5000))
        assert len(frozen.Request._trusted) <= 3
    assert "192.0.2.5" in frozen.Request._trusted


def test_adopt_leaves_other_parsers_alone() -> None:
    class Other(RequestParser):
        pass

    parser = Other(config.Config(), iter([HEAD]), ("127.0.0.1", 1))
    frozen.adopt(parser)
    assert parser.mesg_class is not frozen.Request
