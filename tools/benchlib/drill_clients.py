"""The two clients of ``tools/bench --resumable-drill``, as processes it can kill: the real
``tuspy`` (``benchlib/tus_upload.py``, run with the bench's ``.venv`` Python) and curl following
the IETF draft (``benchlib/ietf_upload.sh``); and the few Images API calls the drill makes
itself (create, show, delete), with the identity headers of a project (a session is its
creator project's)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .imgreg_server import BIN

HERE = Path(__file__).resolve().parent
IDENTITY = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "drill",
    "X-User-Id": "drill",
    "X-Roles": "member,reader",
}


@dataclass
class Data:
    path: Path
    size: int
    md5: str
    sha512: str


def api(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {**IDENTITY, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=60) as resp:
        text = resp.read()
    return dict(json.loads(text)) if text else {}


def answers(url: str) -> bool:
    try:
        api("GET", url)
    except OSError:
        return False
    return True


class Clients:
    """Starts the two clients' processes (each its own process group, so that a kill takes
    curl with its script)."""

    def __init__(self, work: Path, data: Data, chunk: int) -> None:
        self.work = work
        self.data = data
        self.chunk = chunk
        self.curl_config = work / "curl.conf"
        self.curl_config.write_text("".join(f'header = "{k}: {v}"\n' for k, v in IDENTITY.items()))

    def start(
        self, client: str, file_url: str, stop_at: int | None, tag: str
    ) -> subprocess.Popen[str]:
        extra = "-" if stop_at is None else str(stop_at)
        if client == "tuspy":
            args = ["start", file_url, *self._tus(tag), extra]
            return self._spawn(
                [str(BIN / "python"), str(HERE / "tus_upload.py"), *args, *self._headers()],
                tag,
                "start",
            )
        args = ["create", file_url, str(self.data.path), str(self.chunk)]
        if stop_at is not None:
            args.append(str(stop_at))
        return self._spawn(["bash", str(HERE / "ietf_upload.sh"), *args], tag, "start")

    def resume(
        self, client: str, file_url: str, session_url: str | None, tag: str
    ) -> subprocess.Popen[str]:
        if client == "tuspy":
            args = ["resume", file_url, *self._tus(tag), session_url or "-"]
            return self._spawn(
                [str(BIN / "python"), str(HERE / "tus_upload.py"), *args, *self._headers()],
                tag,
                "resume",
            )
        assert session_url is not None
        args = ["resume", session_url, str(self.data.path), str(self.chunk)]
        return self._spawn(["bash", str(HERE / "ietf_upload.sh"), *args], tag, "resume")

    def _tus(self, tag: str) -> list[str]:
        return [str(self.data.path), str(self.work / f"{tag}-urls.json"), str(self.chunk)]

    @staticmethod
    def _headers() -> list[str]:
        return [f"{k}={v}" for k, v in IDENTITY.items()]

    def _spawn(self, argv: list[str], tag: str, leg: str) -> subprocess.Popen[str]:
        out = (self.work / f"{tag}-{leg}.out").open("w")
        env = {**os.environ, "DRILL_CURL_CONFIG": str(self.curl_config)}
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)  # fmt: skip

    def output(self, tag: str, leg: str) -> str:
        return (self.work / f"{tag}-{leg}.out").read_text(errors="replace")
