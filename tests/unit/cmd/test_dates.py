"""gunicorn's ``Date`` header, formatted once a second (``imgreg.server.dates``)."""

from __future__ import annotations

import email.utils

from imgreg.server import dates


def test_the_same_text_as_gunicorns_formatted_once_a_second(monkeypatch):
    clock = [1_800_000_000.2]
    calls = []
    monkeypatch.setattr(dates.time, "time", lambda: clock[0])
    monkeypatch.setattr(dates, "_last", (-1, ""))

    def formatdate(timestamp):
        calls.append(timestamp)
        return email.utils.formatdate(timestamp, usegmt=True)

    monkeypatch.setattr(dates, "_format", formatdate)
    first = dates.http_date()
    assert first == email.utils.formatdate(1_800_000_000, usegmt=True)
    clock[0] += 0.7
    assert dates.http_date() == first
    assert len(calls) == 1
    clock[0] += 0.2  # the next second
    assert dates.http_date() == email.utils.formatdate(1_800_000_001, usegmt=True)
    assert len(calls) == 2
    assert dates.http_date(1_700_000_000) == email.utils.formatdate(1_700_000_000, usegmt=True)


def test_install_replaces_gunicorns(monkeypatch):
    from gunicorn import util

    monkeypatch.setattr(util, "http_date", util.http_date)  # undone after the test
    dates.install()
    assert util.http_date is dates.http_date
