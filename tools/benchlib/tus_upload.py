"""The tuspy client of ``tools/bench --resumable-drill``: the real ``tuspy`` (PyPI) uploader, run
as a process of its own (so that it can be killed) with the bench's ``.venv`` Python.

    tus_upload.py start FILE_URL PATH STORAGE CHUNK [STOP_AT] [NAME=VALUE ...]
    tus_upload.py resume FILE_URL PATH STORAGE CHUNK [SESSION_URL] [NAME=VALUE ...]

``start`` creates the upload and sends CHUNK-byte PATCHes (up to STOP_AT when given,
``-`` for none), then prints ``offset N``; ``resume`` is a new client that finds the upload in
its URL storage (a JSON file, as a real client keeps it; SESSION_URL, when given, is put
there first: the balancer sent the client to the other node), prints ``resume-offset N`` (the
offset the server gave it) and sends the rest. NAME=VALUE arguments are headers sent on every
request. With ``DRILL_START_RATE`` (bytes/s) in the environment, ``start`` sends at about
that rate.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import requests
from tusclient import client
from tusclient.fingerprint.fingerprint import Fingerprint
from tusclient.storage.filestorage import FileStorage

STEP = 64 * 1024  # a throttled chunk is sent in pieces of this size


def throttle(rate: float) -> None:
    """Send every PATCH body at about ``rate`` bytes/s (``DRILL_START_RATE``, the first leg
    of a small drill: the cut then lands in a chunk whatever the machine's speed)."""
    real = requests.patch

    def slow(url: str, data: bytes = b"", **kwargs: Any) -> requests.Response:
        def pieces() -> Iterator[bytes]:
            view = memoryview(data)
            for start in range(0, len(view), STEP):
                time.sleep(STEP / rate)
                yield bytes(view[start : start + STEP])

        return real(url, data=pieces(), **kwargs)

    requests.patch = slow  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    mode, url, path, storage, chunk, extra = argv[:6]
    headers = dict(h.split("=", 1) for h in argv[6:])
    urls = FileStorage(storage)
    if mode == "resume" and extra != "-":
        # the balancer's turn: the URL the client keeps now names the other node
        with open(path, "rb") as stream:
            urls.set_item(Fingerprint().get_fingerprint(stream), extra)
    uploader = client.TusClient(url, headers=headers).uploader(
        path, chunk_size=int(chunk), store_url=True, url_storage=urls
    )
    if mode == "start":
        if os.environ.get("DRILL_START_RATE"):
            throttle(float(os.environ["DRILL_START_RATE"]))
        uploader.upload(stop_at=None if extra == "-" else int(extra))
        print(f"offset {uploader.offset}", flush=True)
        return
    if uploader.url is None:
        raise SystemExit("tus_upload.py: no upload of this file in the URL storage")
    print(f"resume-offset {uploader.offset}", flush=True)
    uploader.upload()
    print(f"offset {uploader.offset}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
