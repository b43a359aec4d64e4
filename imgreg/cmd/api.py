"""``imgreg-api --config-file etc/imgreg-api.conf``: serve the paste pipeline with gunicorn.

gunicorn's threaded workers stream request bodies to the app as they arrive (chunked or
sized, 1 MiB chunks included), answer ``Expect: 100-continue``, and hand downloads to
``sendfile`` through ``wsgi.file_wrapper``. A slow client occupies one thread, not a worker.

Before forking, the master runs the reaper (``imgreg.maintenance.recovery``): uploads a killed
process left ``saving`` past their lease go back to ``queued``, and orphan blobs and stale partial
files are removed. Each worker then runs it on a timer (``imgreg.maintenance.reaper``), one process
at a time across the nodes, so a worker killed mid-upload needs no restart either.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from imgreg import conf as imgreg_conf
from imgreg import wsgi
from imgreg.maintenance import cache_upkeep, reaper
from imgreg.server import logs, worker
from imgreg.services import wiring

LOG = logging.getLogger(__name__)


class ImgregServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return wsgi.load_app()


def _start_reaper(_worker: Any) -> None:
    """In each worker, after the fork: the periodic reaper's thread, and the image cache's
    upkeep (only with image_cache_dir)."""
    reaper.start(wiring.services, imgreg_conf.CONF)
    cache_upkeep.start(wiring.services, imgreg_conf.CONF)


def _stop_reaper(_server: Any, _worker: Any) -> None:
    reaper.stop()
    cache_upkeep.stop()


def main(argv: list[str] | None = None) -> int:
    conf = imgreg_conf.parse(sys.argv[1:] if argv is None else argv)
    logs.setup()
    try:
        wsgi.load_app()  # fail here, once, with a clear message, not in every worker
    except Exception as exc:
        print(f"imgreg-api: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        done = reaper.sweep(wiring.services(), reaper.holder_name(), due_only=False)
        LOG.info("start-up reaper: %s", "skipped: another process sweeps" if done is None else done)
    except Exception:  # serving comes first; the next start or `imgreg-manage scrub` retries
        LOG.exception("start-up reaper failed")
    wiring.reset()
    timeouts = (conf.client_socket_timeout, conf.client_header_timeout, conf.client_body_timeout)
    worker.configure(*timeouts, linger=conf.keepalive_linger)  # forked into the workers
    # Each worker also holds its listening socket, log files, database and store handles.
    connections = min(conf.worker_connections, worker.raise_nofile_limit() - 64)
    options = {
        "bind": f"{conf.bind_host}:{conf.bind_port}",
        "workers": conf.workers,
        "worker_class": "imgreg.server.worker.TimedThreadWorker",
        "threads": conf.threads,
        "worker_connections": max(connections, conf.threads + 1),
        # gthread's main loop reports in every second whatever its threads do, so this only
        # catches a wedged worker; the client timeouts are the worker's (imgreg.server.worker).
        "timeout": conf.client_socket_timeout,
        "keepalive": conf.keepalive_timeout,
        "limit_request_line": conf.max_request_line,
        "limit_request_fields": conf.max_header_count,
        "limit_request_field_size": conf.max_header_line,
        "control_socket_disable": True,
        "accesslog": "-",
        "logger_class": "imgreg.server.accesslog.AccessLogger",
        "proc_name": "imgreg-api",
        "post_worker_init": _start_reaper,
        "worker_exit": _stop_reaper,
    }
    ImgregServer(options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
