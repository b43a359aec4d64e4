"""``build_select`` keeps first-page statements: one object per distinct query, rebuilt for
pages after a marker, and bounded in number."""

from __future__ import annotations

from types import SimpleNamespace

from imgreg.db import query
from imgreg.db.query import build_select
from imgreg.domain.query import ListQuery


def test_the_same_first_page_is_built_once_and_another_is_not_confused_with_it() -> None:
    mine = ListQuery(project_id="p1", is_admin=False, limit=25)
    again = build_select(ListQuery(project_id="p1", is_admin=False, limit=25))
    assert build_select(mine) is again
    others = [
        ListQuery(project_id="p2", is_admin=False, limit=25),
        ListQuery(project_id="p1", is_admin=True, limit=25),
        ListQuery(project_id="p1", is_admin=False, limit=26),
        ListQuery(project_id="p1", is_admin=False, limit=25, exact={"name": ["1"]}),
        ListQuery(project_id="p1", is_admin=False, limit=25, exact={"name": [1]}),
    ]
    built = [build_select(q) for q in others]
    assert len({id(s) for s in [again, *built]}) == len(others) + 1
    assert "p2" in str(built[0].compile(compile_kwargs={"literal_binds": True}))


def test_pages_after_a_marker_are_built_each_time() -> None:
    q = ListQuery(project_id="p1", is_admin=False, limit=25, sort=[("name", "asc")])
    marker = SimpleNamespace(name="m")
    assert build_select(q, marker) is not build_select(q, marker)


def test_the_cache_stays_bounded(monkeypatch) -> None:
    monkeypatch.setattr(query, "STATEMENT_CACHE_SIZE", 3)
    monkeypatch.setattr(query, "_first_pages", {})
    for n in range(10):
        build_select(ListQuery(project_id=f"p{n}", is_admin=False, limit=25))
        assert len(query._first_pages) <= 3
