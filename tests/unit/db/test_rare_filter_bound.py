"""``rare_filter`` counts a bounded number of distinct tags, however many ``tag=`` a query
string repeats (each count reads up to ``RARE + 1`` index entries)."""

from __future__ import annotations

from types import SimpleNamespace

from imgreg.db import probes


class Conn:
    def __init__(self, count: int) -> None:
        self.count = count
        self.statements = 0

    def execute(self, statement):
        self.statements += 1
        return SimpleNamespace(scalar_one=lambda: self.count)


def query(tags: list[str]):
    return SimpleNamespace(tags=tags, properties={})


def test_a_thousand_tags_cost_at_most_the_bound_of_counts():
    conn = Conn(count=5_000)  # none rare
    assert probes.rare_filter(conn, query([f"t{i}" for i in range(1000)])) is None
    assert conn.statements == probes.COUNTED_TAGS


def test_a_repeated_tag_is_counted_once():
    conn = Conn(count=10)
    assert probes.rare_filter(conn, query(["gold"] * 500)) == (None, "gold")
    assert conn.statements == 1
