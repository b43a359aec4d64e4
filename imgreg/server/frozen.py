"""``freeze``: a worker's gunicorn settings as plain attributes.

gunicorn's ``Config`` keeps each setting in a ``Setting`` object and answers ``cfg.<name>``
through ``__getattr__``: a failed attribute lookup, a dictionary lookup and a method call,
21 times for a schema GET in parsing, the environ and the response alone, more in gthread's
loop (7-8 % of the GET's Python time). ``freeze`` copies
every setting's value into the config's own ``__dict__`` once the worker runs, so
``cfg.<name>`` is a plain attribute. Properties (``is_ssl``, ``worker_class``, …) are class
attributes and still win over the copies. Nothing in a worker sets a setting after it starts
(the arbiter reloads on HUP and forks new workers with a new config).
"""

from __future__ import annotations

from typing import Any


def freeze(cfg: Any) -> None:
    """Copy every setting's current value of ``cfg`` into its instance ``__dict__``."""
    names = type(cfg).__dict__
    for name, setting in cfg.settings.items():
        if name not in names:
            cfg.__dict__[name] = setting.get()
