"""A worker's settled gunicorn state, looked up once instead of once per request.

Two things gunicorn recomputes for every request although a worker's answer never changes:

* **Its settings.** ``Config`` keeps each setting in a ``Setting`` object and answers
  ``cfg.<name>`` through ``__getattr__``: a failed attribute lookup, a dictionary lookup and
  a method call, some forty times per small request (7-8 % of a schema GET's Python time).
  ``freeze`` copies every setting's value into the config's own ``__dict__`` once the worker
  runs, so ``cfg.<name>`` is a plain attribute. Properties (``is_ssl``, ``worker_class``, …)
  are class attributes and still win over the copies. Nothing in a worker sets a setting
  after it starts (the arbiter reloads on HUP and forks new workers with a new config).
* **Whether the peer is a trusted proxy.** Every request parses the peer's address with
  ``ipaddress`` and tests it against each network of ``forwarded_allow_ips``, twice (2-4 %).
  ``Request`` remembers the answer for each peer address, per worker.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.message import Request as GunicornRequest
from gunicorn.http.parser import RequestParser

TRUST_CACHE_MAX = 4096  # peer addresses remembered per worker before the memo starts over


def freeze(cfg: Any) -> None:
    """Copy every setting's current value of ``cfg`` into its instance ``__dict__``."""
    names = type(cfg).__dict__
    for name, setting in cfg.settings.items():
        if name not in names:
            cfg.__dict__[name] = setting.get()


class Request(GunicornRequest):
    """gunicorn's request, with the peer's trust looked up once per address and worker."""

    _trusted: dict[str, bool] = {}

    def _peer_is_trusted_proxy(self) -> bool:
        peer = self.peer_addr
        if not isinstance(peer, tuple):
            return True  # a UNIX socket: as gunicorn decides
        trusted = self._trusted.get(peer[0])
        if trusted is None:
            trusted = bool(super()._peer_is_trusted_proxy())
            if len(self._trusted) >= TRUST_CACHE_MAX:
                self._trusted.clear()
            self._trusted[peer[0]] = trusted
        return trusted


def adopt(parser: Any) -> None:
    """Let a connection's HTTP/1 parser build this module's ``Request``."""
    if type(parser) is RequestParser and parser.mesg_class is GunicornRequest:
        parser.mesg_class = Request
