"""Quota bookkeeping in the database (``SqlImageRepo.reserve_storage``, ``add(max_images=)``)
on the real database (SQLite, PostgreSQL or MariaDB per IMGREG_TEST_DB)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from imgreg.db import maintenance
from imgreg.db.repo import SqlImageRepo
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import utcnow

QUOTA = 1000


def saving(repo, owner="p1"):
    image = ImageFactory().new_image(owner, disk_format="raw", container_format="bare")
    repo.add(image)
    image.begin_upload()
    return repo.save(image, from_state="queued")


def test_reservations_count_as_used_until_the_upload_ends(repo):
    first = saving(repo)
    assert repo.reserve_storage(first.id, "p1", 600, 600, QUOTA) == (600, 1000)
    assert repo.storage_used("p1") == 600
    second = saving(repo)
    assert repo.reserve_storage(second.id, "p1", 401, 401, QUOTA) == (0, 400)
    assert repo.reserve_storage(second.id, "p1", 100, 5000, QUOTA) == (400, 400)  # all left
    assert repo.storage_used("p2") == 0  # another owner's quota is untouched
    # the first upload ends with 550 bytes: the reservation becomes the size, in one write
    first.size = 550
    first.activate()
    repo.save(first, from_state="saving")
    assert repo.storage_used("p1") == 550 + 400
    # the second fails: back to queued, its reservation released
    second.abort_upload()
    repo.save(second, from_state="saving")
    assert repo.storage_used("p1") == 550


def test_the_reaper_releases_the_reservation_of_a_dead_upload(db, repo):
    image = saving(repo)
    repo.reserve_storage(image.id, "p1", 700, 700, QUOTA)
    later = utcnow() + dt.timedelta(hours=1)  # past the lease
    assert maintenance.reclaim_upload(db, image.id, later)
    assert repo.storage_used("p1") == 0


def test_no_reservation_for_an_image_that_is_not_saving(repo):
    image = saving(repo)
    image.abort_upload()
    repo.save(image, from_state="saving")
    with pytest.raises(errors.StaleState):
        repo.reserve_storage(image.id, "p1", 1, 1, QUOTA)
    repo.remove(image)
    with pytest.raises(errors.NotFound):
        repo.reserve_storage(image.id, "p1", 1, 1, QUOTA)
    assert repo.storage_used("p1") == 0


def race_for_the_quota(repos: list[SqlImageRepo]) -> tuple[list[int], list[str]]:
    """Ten reservations of 30 bytes per repo, all threads released at once against QUOTA;
    the bytes each granted, and the calls that failed (exception and its database cause)."""
    images = [saving(r) for r in repos]
    barrier = threading.Barrier(len(repos))
    granted: list[int] = []
    failures: list[str] = []

    def race(repo, image):
        barrier.wait(timeout=30)
        for _ in range(10):
            try:
                got, _left = repo.reserve_storage(image.id, "p1", 30, 30, QUOTA)
                granted.append(got)
            except Exception as exc:  # counted and shown by the caller's assert
                cause = getattr(exc.__context__, "orig", exc.__context__)
                failures.append(f"{type(exc).__name__} ({cause})")

    threads = [threading.Thread(target=race, args=pair) for pair in zip(repos, images, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return granted, failures


def test_concurrent_reservations_never_exceed_the_quota(clean_db):
    """Each thread has its own engine (as each worker process has), all race for the quota."""
    databases = [Database(clean_db) for _ in range(6)]
    repos = [SqlImageRepo(d) for d in databases]
    granted, failures = race_for_the_quota(repos)
    try:
        assert failures == []
        assert len(granted) == 60
        assert sum(granted) == QUOTA // 30 * 30  # every 30 that fits, and not one more
        assert repos[0].storage_used("p1") == sum(granted)
    finally:
        for d in databases:
            d.dispose()


def test_add_within_the_image_count(repo):
    for _ in range(2):
        repo.add(ImageFactory().new_image("p1"), max_images=2)
    with pytest.raises(errors.QuotaExceeded, match="limit 2, current usage 2"):
        repo.add(ImageFactory().new_image("p1"), max_images=2)
    repo.add(ImageFactory().new_image("p2"), max_images=2)  # per owner
    repo.add(ImageFactory().new_image("p1"))  # no limit given: none applies
