"""``--glance-config glance-api.conf``: where Glance keeps image data (its single store, or
each of its ``enabled_backends``), held against imgreg's stores so that an operator learns
before the cut-over that a Glance store is not readable by imgreg in place.

Only the file store's directory can be checked from the configuration alone (a URL of it must
resolve to an imgreg store); swift, s3 and rbd locations are checked image by image, as every
location is (``imgreg.migrate.convert``), and read back with ``--verify``.
"""

from __future__ import annotations

import configparser
import os
import uuid

from imgreg.domain import errors
from imgreg.store.registry import Stores

PROBE = str(uuid.UUID(int=0))


def backends(path: str) -> dict[str, tuple[str, configparser.SectionProxy | None]]:
    """Glance's stores: id → (kind, its section). A single store is called by its kind."""
    parser = configparser.RawConfigParser(strict=False)
    if not parser.read(path):
        raise OSError(f"cannot read {path}")
    enabled = parser.get("DEFAULT", "enabled_backends", fallback="").strip()
    if enabled:
        found = {}
        for item in enabled.split(","):
            store_id, _, kind = item.strip().partition(":")
            section = parser[store_id] if parser.has_section(store_id) else None
            found[store_id] = (kind.strip(), section)
        return found
    kind = parser.get("glance_store", "default_store", fallback="file").strip()
    section = parser["glance_store"] if parser.has_section("glance_store") else None
    return {kind: (kind, section)}


def problems(path: str, stores: Stores) -> list[str]:
    """One line per Glance store imgreg cannot read in place (file stores only)."""
    found = []
    for store_id, (kind, section) in backends(path).items():
        if kind != "file":
            continue
        datadir = section.get("filesystem_store_datadir") if section is not None else None
        if not datadir:
            found.append(f"Glance file store {store_id}: no filesystem_store_datadir")
            continue
        url = "file://" + os.path.join(os.path.abspath(datadir), PROBE)
        try:
            stores.resolve(url)
        except errors.NotFound:
            found.append(
                f"Glance file store {store_id}: no imgreg file store has "
                f"filesystem_store_datadir = {datadir}"
            )
    return found
