"""Properties and tags written by requests that overlap (SQLite, PostgreSQL, MariaDB and Galera
per IMGREG_TEST_DB): two requests that load one image and add the same new property or tag,
or replace or remove the same one, both succeed and the last writer wins; nothing raises,
no key is stored twice.

The first tests take the two loads one after the other, then the two saves, so the overlap
is certain; the last ones race threads, each on its own connection, released together by a
barrier, over many rounds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from imgreg.db.models import PropertyRow, TagRow
from imgreg.db.repo import SqlImageRepo
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import Image

ROUNDS = 30
THREADS = 4


def new(repo: SqlImageRepo, **fields) -> Image:
    image = ImageFactory().new_image("p1", disk_format="raw", container_format="bare", **fields)
    return repo.add(image)


def stored_rows(db, image_id: str) -> tuple[int, int]:
    """How many property and tag rows the image has (a dict or set would hide a duplicate)."""
    with db.query() as conn:
        props = conn.scalar(select(func.count()).where(PropertyRow.image_id == image_id))
        tags = conn.scalar(select(func.count()).where(TagRow.image_id == image_id))
    return int(props or 0), int(tags or 0)


def test_two_saves_adding_one_new_property_last_writer_wins(db, repo):
    image = new(repo)
    first, second = repo.get(image.id), repo.get(image.id)
    first.extra_properties["colour"] = "red"
    second.extra_properties["colour"] = "blue"
    repo.save(first)
    repo.save(second)
    assert repo.get(image.id).extra_properties == {"colour": "blue"}
    assert stored_rows(db, image.id) == (1, 0)


def test_two_saves_adding_one_new_tag_keep_one_tag(db, repo):
    image = new(repo, tags={"old"})
    first, second = repo.get(image.id), repo.get(image.id)
    first.tags.add("new")
    second.tags.add("new")
    repo.save(first)
    repo.save(second)
    assert repo.get(image.id).tags == {"old", "new"}
    assert stored_rows(db, image.id) == (0, 2)


def test_a_replace_after_a_concurrent_remove_writes_the_property_again(db, repo):
    image = new(repo, extra_properties={"colour": "red"})
    remover, replacer = repo.get(image.id), repo.get(image.id)
    del remover.extra_properties["colour"]
    replacer.extra_properties["colour"] = "blue"
    repo.save(remover)
    repo.save(replacer)
    assert repo.get(image.id).extra_properties == {"colour": "blue"}


def test_two_saves_removing_one_property_or_tag_both_succeed(db, repo):
    image = new(repo, tags={"t"}, extra_properties={"colour": "red", "keep": "k"})
    first, second = repo.get(image.id), repo.get(image.id)
    for loaded in (first, second):
        del loaded.extra_properties["colour"]
        loaded.tags.discard("t")
    repo.save(first)
    repo.save(second)
    again = repo.get(image.id)
    assert (again.extra_properties, again.tags) == ({"keep": "k"}, set())


def test_create_with_a_duplicated_tag_stores_it_once(db, repo):
    image = new(repo, tags=["dup", "dup", "other"])
    assert repo.get(image.id).tags == {"dup", "other"}
    assert stored_rows(db, image.id) == (0, 2)


def race(repo: SqlImageRepo, image_id: str, change: Callable[[Image, int], None]) -> list[str]:
    """THREADS threads each load the image, wait for the others, then save their change; the
    exceptions they raised."""
    barrier = threading.Barrier(THREADS)
    failures: list[str] = []

    def one(n: int) -> None:
        try:
            image = repo.get(image_id)
            change(image, n)
            barrier.wait(timeout=30)
            repo.save(image)
        except Exception as exc:  # the test reports every one
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def test_threads_adding_the_same_property_and_tag_race_without_failing(db, repo):
    def add(image: Image, n: int) -> None:
        image.extra_properties["colour"] = f"v{n}"
        image.tags.add("shared")
        image.tags.add(f"own{n}")

    for _ in range(ROUNDS):
        image = new(repo)
        assert race(repo, image.id, add) == []
        final = repo.get(image.id)
        assert final.extra_properties["colour"] in {f"v{n}" for n in range(THREADS)}
        assert final.tags == {"shared", *(f"own{n}" for n in range(THREADS))}
        assert stored_rows(db, image.id) == (1, THREADS + 1)


def test_threads_replacing_and_removing_the_same_property_race_without_failing(db, repo):
    def replace_or_remove(image: Image, n: int) -> None:
        if n % 2:
            del image.extra_properties["colour"]
            image.tags.discard("t")
        else:
            image.extra_properties["colour"] = f"v{n}"
            image.tags = {f"t{n}"}

    for _ in range(ROUNDS):
        image = new(repo, tags={"t"}, extra_properties={"colour": "old"})
        assert race(repo, image.id, replace_or_remove) == []
        final = repo.get(image.id)
        assert final.extra_properties.get("colour", "gone") in {"gone", "v0", "v2"}
        assert final.tags <= {"t0", "t2"}
        props, tags = stored_rows(db, image.id)
        assert (props, tags) == (len(final.extra_properties), len(final.tags))
