"""``imgreg.server.frozen``: a worker's gunicorn settings as plain attributes, with gunicorn's
answers unchanged."""

from __future__ import annotations

from typing import Any

from gunicorn import config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from imgreg.server import frozen

HEAD = b"GET /v2/images HTTP/1.1\r\nHost: example.test\r\n\r\n"


class Sock:
    def sendall(self, data: bytes) -> None:
        pass


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
    req = next(RequestParser(cfg, iter([HEAD]), ("127.0.0.1", 5000)))
    env = wsgi.create(req, Sock(), ("127.0.0.1", 5000), ("127.0.0.1", 9292), cfg)[1]
    assert env["PATH_INFO"] == "/v2/images"


def test_freeze_leaves_properties_to_the_class() -> None:
    cfg = config.Config()
    frozen.freeze(cfg)
    assert "is_ssl" not in cfg.__dict__
    assert "worker_class" not in cfg.__dict__
    assert not cfg.is_ssl  # the property, computed from certfile and keyfile
