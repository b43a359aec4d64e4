"""``images.revision`` (the image's ETag): every write of the record increments it, and a save
or remove after ``require_revision`` happens only at that revision, decided by the database
(SQLite, PostgreSQL or MariaDB per IMGREG_TEST_DB)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from imgreg.db import copies, maintenance
from imgreg.domain import errors
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import utcnow


def new(repo, **fields):
    image = ImageFactory().new_image("p1", disk_format="raw", container_format="bare", **fields)
    return repo.add(image)


def test_a_new_image_is_at_1_and_each_save_increments(repo):
    image = new(repo)
    assert repo.get(image.id).revision == 1
    image.name = "a"
    assert repo.save(image).revision == 2 == repo.get(image.id).revision
    image.tags.add("t")
    assert repo.save(image).revision == 3 == repo.get(image.id).revision


def test_a_save_at_a_stale_revision_writes_nothing(repo):
    image = new(repo, name="a")
    other = repo.get(image.id)
    other.name = "b"
    repo.save(other)
    image.name = "c"
    image.require_revision(image.revision)  # 1, the record is at 2
    with pytest.raises(errors.PreconditionFailed):
        repo.save(image)
    assert repo.get(image.id).name == "b"
    assert repo.get(image.id).revision == 2


def test_a_save_at_the_current_revision_writes(repo):
    image = new(repo, name="a")
    image.name = "c"
    image.require_revision(1)
    saved = repo.save(image)
    assert saved.revision == 2 and saved.expected_revision is None
    assert repo.get(image.id).name == "c"


def test_a_remove_at_a_stale_revision_deletes_nothing(repo):
    image = new(repo)
    other = repo.get(image.id)
    other.name = "b"
    repo.save(other)
    image.require_revision(1)
    with pytest.raises(errors.PreconditionFailed):
        repo.remove(image)
    assert repo.get(image.id).status == "queued"
    image = repo.get(image.id)
    image.require_revision(image.revision)
    repo.remove(image)
    with pytest.raises(errors.NotFound):
        repo.get(image.id)


def test_the_reaper_and_the_copy_records_increment_it(db, repo):
    image = new(repo)
    image.begin_upload()
    repo.save(image, from_state="queued")
    before = repo.get(image.id).revision
    assert maintenance.reclaim_upload(db, image.id, utcnow() + dt.timedelta(hours=1))
    after = repo.get(image.id).revision
    assert after == before + 1
    image = repo.get(image.id)
    image.status = "active"  # as a finished upload leaves it
    image.locations = ["file:///a", "file:///b"]
    repo.save(image, from_state="queued")
    seen = [repo.get(image.id).revision]
    copies.take_lease(db, image.id, dt.timedelta(minutes=5))
    seen.append(repo.get(image.id).revision)
    copies.detach(db, image.id, "file:///b")
    seen.append(repo.get(image.id).revision)
    copies.drop_lease(db, image.id)
    seen.append(repo.get(image.id).revision)
    assert seen == list(range(seen[0], seen[0] + 4))


def test_racing_saves_at_one_revision_exactly_one_wins(repo):
    """Real threads, each with its own connection: the database decides."""
    image = new(repo, name="start")
    racers = 8
    barrier = threading.Barrier(racers, timeout=30)
    outcomes: list[str] = []

    def race(n):
        mine = repo.get(image.id)
        mine.name = f"racer-{n}"
        mine.require_revision(mine.revision)
        barrier.wait()
        try:
            repo.save(mine)
            outcomes.append(mine.name)
        except errors.PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [o for o in outcomes if o != "412"]
    assert len(outcomes) == racers and len(winners) == 1
    final = repo.get(image.id)
    assert final.name == winners[0] and final.revision == 2
