"""The reaper's timer (``imgreg.maintenance.reaper.PeriodicReaper``): a database that does not
answer costs a log line and a retry next period, never the thread; once the database is back the
timer sweeps; ``stop()`` ends the thread at once."""

from __future__ import annotations

import logging
import time
import types
from pathlib import Path

from imgreg.cmd.manage import db_sync
from imgreg.db.session import Database
from imgreg.maintenance import reaper, recovery

PERIOD = 0.05


def test_the_timer_outlives_a_database_outage_and_stops_at_once(
    tmp_path: Path, monkeypatch, caplog
):
    sweeps: list[float] = []
    monkeypatch.setattr(
        recovery,
        "reap",
        lambda svc, heartbeat: sweeps.append(time.monotonic()) or recovery.Reaped(),
    )
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/imgreg")  # nothing listens there
    url = f"sqlite:///{tmp_path}/imgreg.sqlite"
    db_sync(url)
    up = Database(url)
    conf = types.SimpleNamespace(upload_reaper_interval=PERIOD, upload_lease_seconds=60)
    svc = types.SimpleNamespace(conf=conf, db=down)
    timer = reaper.PeriodicReaper(lambda: svc, PERIOD)  # type: ignore[arg-type, return-value]
    caplog.set_level(logging.WARNING, logger="imgreg.maintenance.reaper")
    timer.start()
    try:
        deadline = time.monotonic() + 10
        while caplog.text.count("periodic reaper: ") < 3:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(PERIOD)
        assert "unavailable" in caplog.text and "retrying in" in caplog.text
        assert sweeps == []
        svc.db = up  # the database is back
        while len(sweeps) < 2:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(PERIOD)
    finally:
        stopping = time.monotonic()
        timer.stop()
        stopped = time.monotonic() - stopping
        down.dispose()
        up.dispose()
    assert stopped < 1.0
    assert not timer._thread.is_alive()
    assert sweeps[1] - sweeps[0] >= 0.9 * PERIOD  # one sweep a period, not back to back
