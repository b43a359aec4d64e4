"""The ``Date`` header of gunicorn's responses, formatted once a second.

gunicorn formats the current time with ``email.utils.formatdate`` for every response, a few
percent of the server's CPU for a small GET. The header has a resolution of one second, so
``install`` replaces gunicorn's ``util.http_date`` with one that formats each second once;
a call with an explicit timestamp is formatted as before.
"""

from __future__ import annotations

import time

from gunicorn import util

_format = util.http_date
_last: tuple[int, str] = (-1, "")


def http_date(timestamp: float | None = None) -> str:
    global _last
    if timestamp is not None:
        return _format(timestamp)
    now = int(time.time())
    second, text = _last  # one tuple: a thread never sees one second's text with another's
    if second != now:
        text = _format(now)
        _last = (now, text)
    return text


def install() -> None:
    util.http_date = http_date
