"""The access line: Apache "combined" fields, then the request id and the request time."""

from __future__ import annotations

import datetime as dt
import logging
import re
from types import SimpleNamespace

from gunicorn.config import Config

from imgreg.server.accesslog import AccessLogger


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logger_with(accesslog: str | None) -> tuple[AccessLogger, Lines]:
    cfg = Config()
    cfg.set("accesslog", accesslog)
    logger = AccessLogger(cfg)
    lines = Lines()
    logger.access_log.handlers = [lines]
    return logger, lines


ENVIRON = {
    "REMOTE_ADDR": "10.1.2.3",
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/v2/images?limit=25",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_USER_AGENT": "python-glanceclient",
}


def response(**kw):
    headers = [("Content-Type", "application/json"), ("X-OpenStack-Request-ID", "req-abc")]
    return SimpleNamespace(status="200 OK", sent=1234, headers=headers, **kw)


def test_combined_line_with_request_id_and_time():
    logger, lines = logger_with("-")
    logger.access(response(), None, ENVIRON, dt.timedelta(microseconds=2500))
    [line] = lines.lines
    assert re.fullmatch(
        r"10\.1\.2\.3 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
        r'"GET /v2/images\?limit=25 HTTP/1\.1" 200 1234 "-" "python-glanceclient" '
        r"req-abc 0\.002500",
        line,
    ), line


def test_missing_values_are_dashes():
    logger, lines = logger_with("-")
    resp = SimpleNamespace(status="204 No Content", sent=None, headers=[])
    logger.access(resp, None, {**ENVIRON, "HTTP_USER_AGENT": "-"}, dt.timedelta(0))
    assert '" 204 - "-" "-" - 0.000000' in lines.lines[0]


def test_no_access_log_configured_writes_nothing():
    logger, lines = logger_with(None)
    logger.access(response(), None, ENVIRON, dt.timedelta(0))
    assert lines.lines == []


def test_gunicorns_own_stream_gets_the_line_without_a_log_record(capsys, monkeypatch):
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)  # gunicorn's StreamHandler on sys.stdout (capsys's)
    # the logger is process-wide: only gunicorn's handler, not the other tests' ``Lines``
    own = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    monkeypatch.setattr(logger.access_log, "handlers", own)

    def no_record(*args, **kwargs):
        raise AssertionError("a LogRecord was made")

    monkeypatch.setattr(logging.Logger, "makeRecord", no_record)
    logger.access(response(), None, ENVIRON, dt.timedelta(microseconds=2500))
    logger.access(response(), None, ENVIRON, dt.timedelta(0))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("10.1.2.3 - - [") and lines[0].endswith("req-abc 0.002500")


def test_an_access_log_file_gets_one_line_a_request(tmp_path):
    path = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(path))
    logger = AccessLogger(cfg)
    own = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    logger.access_log.handlers = own
    logger.access(response(), None, ENVIRON, dt.timedelta(0))
    logger.access(response(), None, ENVIRON, dt.timedelta(0))
    for handler in own:
        handler.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(" 200 1234 " in line for line in lines)
