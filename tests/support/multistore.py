"""Several stores under test: the options of an ``enabled_backends`` configuration of
filesystem stores (``file_stores``), one directory each, for ``write_config`` and for the
``imgreg-api`` the e2e tests start; ``blob_of`` finds an image's copy in one of them.
``two_stores`` pairs a filesystem store with a ``SecondStore`` of another kind (RBD, S3)."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from typing import Any

import pytest

# id -> weight: a download reads the copy of highest weight first; "fast" is the default
# store, and "slow" outweighs it, so reads follow the weight, not the order copies were made
WEIGHTS = {"fast": 10, "slow": 50, "cold": 0}


def file_stores(root: Path, ids: tuple[str, ...] = ("fast", "slow")) -> dict[str, Any]:
    options: dict[str, Any] = {
        "enabled_backends": ",".join(f"{i}:file" for i in ids),
        "glance_store.default_backend": ids[0],
    }
    for store_id in ids:
        options[f"{store_id}.filesystem_store_datadir"] = root / store_id
        options[f"{store_id}.store_description"] = f"the {store_id} store"
        options[f"{store_id}.weight"] = WEIGHTS.get(store_id, 0)
    return options


def blob_of(root: Path, store_id: str, image_id: str) -> Path:
    return root / store_id / image_id


@dataclasses.dataclass
class SecondStore:
    """The ``slow`` store of a two-store e2e test, of any kind (``file``, ``rbd``, ``s3``):
    its section's options, and a driver over it to look inside."""

    kind: str
    settings: dict[str, Any]  # its [glance_store] options (names without the group)

    def driver(self) -> Any:
        from imgreg.store import create
        from tests.support.builders import make_conf

        overrides = {f"glance_store__{k}": v for k, v in self.settings.items()}
        return create(self.kind, make_conf(**overrides))

    def holds(self, image_id: str) -> bool:
        """A blob or a partial upload of ``image_id`` is in the store."""
        store = self.driver()
        return any(image_id in url for url in store.list_blobs()) or any(
            p.image_id == image_id for p in store.list_partials()
        )

    def read(self, image_id: str) -> bytes:
        store = self.driver()
        (url,) = [u for u in store.list_blobs() if image_id in u]
        reader = store.open(url)
        try:
            return b"".join(reader)
        finally:
            reader.close()


def second_store(kind: str, root: Path, request: pytest.FixtureRequest) -> SecondStore:
    """A fresh ``slow`` store of ``kind``: a directory, an RBD pool on ``tools/ceph``'s
    cluster, or an S3 bucket on ``tools/swift``'s s3api."""
    from tests.support.stores import RbdBackend, S3Backend

    name = secrets.token_hex(6)
    if kind == "file":
        return SecondStore(kind, {"filesystem_store_datadir": root / "slow"})
    if kind == "rbd":
        backend = RbdBackend(request.getfixturevalue("ceph_server"), root)
        backend.command("osd pool create", pool=f"p{name}", pg_num=1)
        backend.command("osd pool application enable", pool=f"p{name}", app="rbd")
        return SecondStore(kind, backend.settings(f"p{name}"))
    assert kind == "s3", kind
    s3 = S3Backend(request.getfixturevalue("swift_server"))
    return SecondStore(kind, s3.settings(f"b{name}"))


def two_stores(root: Path, slow: SecondStore) -> dict[str, Any]:
    """``imgreg-api`` options: ``fast`` (file, the default) and ``slow`` (any kind)."""
    options = file_stores(root, ("fast",))
    options["enabled_backends"] = f"fast:file,slow:{slow.kind}"
    for name, value in slow.settings.items():
        options[f"slow.{name}"] = value
    options["slow.store_description"] = "the slow store"
    options["slow.weight"] = WEIGHTS["slow"]
    return options
