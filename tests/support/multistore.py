"""Several stores under test: the options of an ``enabled_backends`` configuration of
filesystem stores (``file_stores``), one directory each, for ``write_config`` and for the
``imgreg-api`` the e2e tests start; ``blob_of`` finds an image's copy in one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
