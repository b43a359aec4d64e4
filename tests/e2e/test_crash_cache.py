"""A worker SIGKILLed while a download fills the image cache (``IMGREG_FAULT=cache_mid_fill``):
its partial copy is never a hit, the next server serves the store's bytes and fills the cache
again, and ``clean`` removes what a dead fill left."""

from __future__ import annotations

import os

import pytest
import requests

from tests.support.server import create, kill, manage, start_api, stop, upload

# tools/test's first pass only: the cache keeps its own SQLite catalog beside its files, whatever
# the database
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

# Many store blocks: the fill's thread takes the first one and the worker dies while the
# response is still far from complete
DATA = os.urandom(48 * 1024 * 1024)


def cache_doc(server) -> dict:
    resp = requests.get(f"{server.url}/v2/cache", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_fill_killed_midway_is_never_a_hit(tmp_path, clean_db, servers):
    cache_dir = tmp_path / "cache"
    options = {"image_cache_dir": cache_dir, "image_cache_period": 0}
    first = start_api(tmp_path, clean_db, options, env={"IMGREG_FAULT": "cache_mid_fill"},
                      new_session=True)  # fmt: skip
    servers.append(first)
    image_id = create(first)
    assert upload(first, image_id, DATA).status_code == 204
    with pytest.raises(requests.RequestException):  # the worker died mid-body
        requests.get(f"{first.url}/v2/images/{image_id}/file", timeout=30)
    partial = cache_dir / "incomplete" / image_id
    assert partial.exists()
    assert 0 < partial.stat().st_size < len(DATA)
    assert not (cache_dir / image_id).exists()
    kill(first)

    second = start_api(tmp_path, clean_db, {**options, "image_cache_stall_time": 0})
    servers.append(second)
    assert cache_doc(second) == {"cached_images": [], "queued_images": []}
    done = manage(second, "cache", "clean")
    assert (done.returncode, done.stdout) == (0, "cleaned 1 file(s)\n"), done.stderr
    assert not partial.exists()
    resp = requests.get(f"{second.url}/v2/images/{image_id}/file", timeout=30)
    assert resp.content == DATA
    stop(second)
    assert (cache_dir / image_id).read_bytes() == DATA
