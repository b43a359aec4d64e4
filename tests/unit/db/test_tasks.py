"""``SqlTaskRepo`` on the run's database: round trips, the status compare-and-swap, expiry,
and keyset paging by every sort key in both directions."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from imgreg.db.tasks import SqlTaskRepo
from imgreg.domain import errors
from imgreg.domain.task import Task, now
from imgreg.domain.task_query import SORT_KEYS, TaskQuery

TTL = dt.timedelta(hours=48)


@pytest.fixture
def tasks(db):
    return SqlTaskRepo(db, TTL)


def new(owner="p1", **fields):
    fields.setdefault("input", {"import_from": "https://x/y", "deep": {"a": [1, "\u00e9"]}})
    return Task.new("import", owner, **fields)


def test_a_task_reads_back_as_it_was_added(tasks):
    t = tasks.add(new(image_id=str(uuid.uuid4()), user_id="u1", request_id="req-1"))
    back = tasks.get(t.id)
    assert (back.type, back.status, back.owner, back.input) == ("import", "pending", "p1", t.input)
    assert (back.image_id, back.user_id, back.request_id) == (t.image_id, "u1", "req-1")
    assert (back.result, back.message, back.expires_at) == (None, "", None)
    assert back.created_at == t.created_at  # to the microsecond, on every database


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "nope", "a\x00b", "x" * 500, ""])
def test_unknown_or_impossible_ids_are_not_found(tasks, task_id):
    with pytest.raises(errors.NotFound):
        tasks.get(task_id)


def test_save_is_a_compare_and_swap_on_the_status(tasks):
    t = tasks.add(new())
    t.begin_processing()
    tasks.save(t, from_status="pending")
    late = tasks.get(t.id)
    late.fail("too late")
    with pytest.raises(errors.StaleState):
        tasks.save(late, from_status="pending")
    assert tasks.get(t.id).status == "processing"


def test_an_ended_task_gets_its_expiry_when_saved(tasks):
    t = tasks.add(new())
    t.begin_processing()
    tasks.save(t, from_status="pending")
    assert tasks.get(t.id).expires_at is None
    t.succeed({"image_id": "i"}, "done")
    before = now()
    tasks.save(t, from_status="processing")
    back = tasks.get(t.id)
    assert (back.status, back.result, back.message) == ("success", {"image_id": "i"}, "done")
    assert before + TTL <= back.expires_at <= now() + TTL


def test_saving_a_task_that_is_gone_is_not_found(tasks):
    with pytest.raises(errors.NotFound):
        tasks.save(new(), from_status="pending")


def test_delete_expired_deletes_only_what_expired(tasks):
    old, fresh, running = new(), new(), new()
    for t in (old, fresh):
        t.fail("x")
    old.expires_at = now() - dt.timedelta(seconds=1)
    fresh.expires_at = now() + dt.timedelta(hours=1)
    for t in (old, fresh, running):
        tasks.add(t)
    assert tasks.delete_expired(now()) == 1
    assert tasks.delete_expired(now()) == 0
    with pytest.raises(errors.NotFound):
        tasks.get(old.id)
    assert {t.id for t in tasks.list(TaskQuery(owner=None, limit=10))} == {fresh.id, running.id}


def test_an_expired_task_is_hidden_before_the_reaper_comes(tasks):
    t = new()
    t.fail("x")
    t.expires_at = now() - dt.timedelta(seconds=1)
    tasks.add(t)
    with pytest.raises(errors.NotFound):
        tasks.get(t.id)
    assert tasks.list_for_image(str(uuid.uuid4())) == []


def _population(tasks):
    """Tasks whose sort values repeat and are sometimes missing."""
    base = now()
    made = []
    for i in range(9):
        t = new(owner=[None, "p1", "p2"][i % 3])
        t.created_at = t.updated_at = base + dt.timedelta(seconds=i // 2)
        if i % 4 == 0:
            t.fail("x")
            t.expires_at = base + dt.timedelta(hours=1 + i % 2)
        if i % 2:
            t.begin_processing()
        made.append(tasks.add(t))
    return made


def _key(task, key):
    value = getattr(task, key)
    if value is None:
        return "" if key == "owner" else dt.datetime(1970, 1, 1)
    return value


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
@pytest.mark.parametrize("sort_key", SORT_KEYS)
def test_paging_visits_every_task_once_in_order(tasks, sort_key, sort_dir):
    made = _population(tasks)
    seen, marker = [], None
    while True:
        query = TaskQuery(owner=None, limit=2, marker=marker, sort_key=sort_key, sort_dir=sort_dir)
        page = tasks.list(query)
        seen += page
        if len(page) < 2:
            break
        marker = page[-1].id
    keys = list(dict.fromkeys((sort_key, "created_at", "id")))
    expected = sorted(made, key=lambda t: [_key(t, k) for k in keys], reverse=sort_dir == "desc")
    assert [t.id for t in seen] == [t.id for t in expected]


def test_filters_and_owner(tasks):
    made = _population(tasks)
    query = TaskQuery(owner="p1", limit=50, status="processing")
    expected = {t.id for t in made if t.owner == "p1" and t.status == "processing"}
    assert {t.id for t in tasks.list(query)} == expected


def test_an_unknown_marker_or_another_owners_is_invalid(tasks):
    other = tasks.add(new(owner="p2"))
    for marker in (str(uuid.uuid4()), other.id):
        with pytest.raises(errors.Invalid, match="marker"):
            tasks.list(TaskQuery(owner="p1", limit=5, marker=marker))


def test_large_input_fits(tasks):
    t = tasks.add(new(input={"blob": "\U0001f600" * 100_000}))
    assert tasks.get(t.id).input == t.input
