"""The cache's prefetcher and pruner (``imgreg.maintenance.cache_upkeep``): run once, on the
server's timer, and by ``imgreg-manage cache``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgreg.maintenance import cache_upkeep
from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, client_with, new_image
from tests.support.config import write_config

# tools/test's first pass only: the cache keeps its own SQLite catalog beside its files, whatever
# the database
pytestmark = pytest.mark.first_pass

DATA = b"prefetched " * 5000
BIN = Path(sys.executable).parent


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def api(conf, cache_dir):
    return client_with(conf, image_cache_dir=str(cache_dir), image_cache_period=0)


def listing(client) -> dict:
    return client.get("/v2/cache").json


def test_prefetch_fills_queued_images_and_drops_the_gone(api, cache_dir):
    image, doomed = new_image(api, DATA), new_image(api, DATA)
    for queued in (image, doomed):
        assert api.request("PUT", f"/v2/cache/{queued['id']}").status_int == 202
    api.delete(f"/v2/images/{doomed['id']}")
    done = cache_upkeep.prefetch(wiring.services(), wiring.services().cache)
    assert (done.cached, done.dropped, done.failed) == ([image["id"]], [doomed["id"]], [])
    assert (cache_dir / image["id"]).read_bytes() == DATA
    doc = listing(api)
    assert [e["image_id"] for e in doc["cached_images"]] == [image["id"]]
    assert doc["queued_images"] == []
    # the prefetched copy serves the next download
    assert api.get(f"/v2/images/{image['id']}/file").body == DATA
    assert listing(api)["cached_images"][0]["hits"] == 1


def test_a_queued_image_deactivated_since_is_dropped(api):
    image = new_image(api, DATA)
    api.request("PUT", f"/v2/cache/{image['id']}")
    api.post(f"/v2/images/{image['id']}/actions/deactivate")
    done = cache_upkeep.prefetch(wiring.services(), wiring.services().cache)
    assert done.dropped == [image["id"]]
    assert listing(api) == {"cached_images": [], "queued_images": []}


def test_a_store_read_that_fails_leaves_the_image_queued(api, store_dir):
    image = new_image(api, DATA)
    api.request("PUT", f"/v2/cache/{image['id']}")
    (store_dir / image["id"]).unlink()
    done = cache_upkeep.prefetch(wiring.services(), wiring.services().cache)
    assert done.failed == [image["id"]]
    assert listing(api) == {"cached_images": [], "queued_images": [image["id"]]}


def test_the_timer_prefetches_then_prunes(conf, cache_dir):
    client = client_with(
        conf, image_cache_dir=str(cache_dir), image_cache_period=1, image_cache_max_size=0
    )
    image = new_image(client, DATA)
    client.request("PUT", f"/v2/cache/{image['id']}")
    assert cache_upkeep.start(wiring.services, conf) is not None
    try:
        deadline = time.monotonic() + 20
        while listing(client)["queued_images"]:
            assert time.monotonic() < deadline, "the timer did not prefetch"
            time.sleep(0.1)
    finally:
        cache_upkeep.stop()
    # prefetched, then pruned at once: the maximum is 0 bytes
    assert listing(client) == {"cached_images": [], "queued_images": []}


def test_no_timer_without_a_cache(conf):
    client_with(conf, image_cache_period=1)
    assert cache_upkeep.start(wiring.services, conf) is None


def manage(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "imgreg-manage"), "--config-file", str(config), "cache", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_imgreg_manage_cache(api, clean_db, store_dir, cache_dir, tmp_path):
    config = write_config(
        tmp_path / "manage", clean_db, store_dir, image_cache_dir=cache_dir, image_cache_max_size=0
    )
    image, other = new_image(api, DATA), new_image(api, DATA)
    api.get(f"/v2/images/{other['id']}/file").body  # noqa: B018 - cached

    done = manage(config, "queue", image["id"])
    assert done.returncode == 0, done.stderr
    listed = manage(config, "list").stdout
    assert f"{other['id']} size={len(DATA)} hits=0" in listed
    assert f"{image['id']} queued" in listed

    done = manage(config, "prefetch")
    assert (done.returncode, done.stdout) == (0, "prefetched 1, dropped 0, failed 0\n")
    assert {e["image_id"] for e in listing(api)["cached_images"]} == {image["id"], other["id"]}

    assert manage(config, "delete", other["id"]).returncode == 0
    assert [e["image_id"] for e in listing(api)["cached_images"]] == [image["id"]]
    done = manage(config, "prune")
    assert done.stdout == f"pruned 1 file(s), {len(DATA)} bytes\n"

    api.request("PUT", f"/v2/cache/{other['id']}")
    assert manage(config, "clear", "--target", "cache").returncode == 0
    assert listing(api)["queued_images"] == [other["id"]]
    assert manage(config, "clear").returncode == 0
    assert listing(api) == {"cached_images": [], "queued_images": []}

    (cache_dir / "incomplete" / UNKNOWN_ID).write_bytes(b"stalled")
    assert manage(config, "clean").stdout == "cleaned 0 file(s)\n"  # stall time not reached


@pytest.mark.parametrize(
    ("args", "message"),
    [(("queue", "nope"), "an image id is needed"), (("delete",), "an image id is needed"),
     (("queue", UNKNOWN_ID), "no image"), (("nosuch",), "invalid choice")],
)  # fmt: skip
def test_imgreg_manage_cache_refuses_bad_arguments(
    api, clean_db, store_dir, cache_dir, tmp_path, args, message
):
    config = write_config(tmp_path / "manage", clean_db, store_dir, image_cache_dir=cache_dir)
    done = manage(config, *args)
    assert done.returncode != 0
    assert message in done.stderr


def test_imgreg_manage_cache_needs_a_cache_dir(clean_db, store_dir, tmp_path):
    config = write_config(tmp_path / "manage", clean_db, store_dir)
    done = manage(config, "list")
    assert done.returncode == 1
    assert "no image_cache_dir" in done.stderr
