"""The database on a three-node MariaDB Galera cluster (collected only when
IMGREG_TEST_DB=galera; the rest of tests/unit/db runs on its first node).

Galera replicates a transaction's written rows when it commits and certifies them against the
other nodes' concurrent writes (the loser gets 1213, "deadlock", at COMMIT); row locks, those of
``SELECT … FOR UPDATE`` included, stay on the node that takes them. So, as OpenStack's own HA
guides do, imgreg's nodes write through one Galera node at a time (a balancer with one active
backend, the others standing by): quota decisions then serialise there, and any node can read.
With writers on several nodes at once the quota locks do not hold (docs/deploy.md has the
figures): that topology is not supported.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from imgreg.db.repo import SqlImageRepo
from imgreg.db.session import Database
from imgreg.domain.factory import ImageFactory
from tests.unit.db.test_usage import QUOTA, race_for_the_quota


def on_node(db_url: str, server_url: str, **query: str) -> str:
    """The session's test database (``db_url``, made through node 1) on another node."""
    url = make_url(server_url).set(database=make_url(db_url).database)
    return url.update_query_dict(query).render_as_string(hide_password=False)


def test_an_image_written_through_node_1_is_read_back_through_node_3(clean_db, galera_urls):
    # A commit returns once the other nodes have certified it, not applied it: a read on node 3
    # right after may miss it (a few in a thousand here) unless it waits for node 3 to catch up
    # (wsrep_sync_wait), set in the connection URL as a deployment would.
    node1 = Database(on_node(clean_db, galera_urls[0]))
    node3 = Database(
        on_node(clean_db, galera_urls[2], init_command="SET SESSION wsrep_sync_wait = 1")
    )
    try:
        image = ImageFactory().new_image(
            "p1", name="on node 1", disk_format="raw", container_format="bare",
            tags={"a", "b"}, extra_properties={"os_distro": "debian"},
        )  # fmt: skip
        SqlImageRepo(node1).add(image)
        loaded = SqlImageRepo(node3).get(image.id)
        assert (loaded.name, loaded.owner, loaded.status) == ("on node 1", "p1", "queued")
        assert (loaded.tags, loaded.extra_properties) == ({"a", "b"}, {"os_distro": "debian"})
    finally:
        node1.dispose()
        node3.dispose()


def test_reservations_through_the_writer_node_never_exceed_the_quota(clean_db, galera_urls):
    """test_usage's race, six workers writing through node 1; nodes 2 and 3 read the result."""
    databases = [Database(on_node(clean_db, galera_urls[0])) for _ in range(6)]
    readers = [Database(on_node(clean_db, url, init_command="SET SESSION wsrep_sync_wait = 1"))
               for url in galera_urls[1:]]  # fmt: skip
    granted, failures = race_for_the_quota([SqlImageRepo(d) for d in databases])
    try:
        # every 30 that fits and not one more, and no call failing on the way
        assert sum(granted) == QUOTA // 30 * 30, f"{sum(granted)} granted, quota {QUOTA}"
        assert failures == []
        for reader in readers:
            assert SqlImageRepo(reader).storage_used("p1") == sum(granted)
    finally:
        for d in databases + readers:
            d.dispose()


def test_the_reaper_lock_holds_with_takers_on_all_three_nodes(clean_db, galera_urls):
    """Unlike its row locks (above), a conditional UPDATE of one row that two nodes commit at
    once fails certification on one of them: the reaper's lock (imgreg.db.sweep_lock) holds
    even with writers on every node."""
    from tests.unit.db.test_sweep_lock import racing_takers

    racing_takers([on_node(clean_db, url) for url in galera_urls])
