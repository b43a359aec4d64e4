"""Config directories for imgreg under test: ``write_config`` makes one like ``etc/`` (paste
pipeline, image schema, a generated ``imgreg-api.conf``) for the in-process app and for every
``imgreg-api`` the e2e tests start."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ETC = ROOT / "etc"


def write_config(directory: Path, db_url: str, store_dir: Path, **options: Any) -> Path:
    """A config directory like ``etc/`` for one imgreg instance; returns the .conf path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("imgreg-api-paste.ini", "schema-image.json"):
        shutil.copy(ETC / name, directory / name)
    lines = ["[DEFAULT]", f"state_path = {directory}"]
    lines += [f"{k} = {v}" for k, v in options.items() if "." not in k]
    groups: dict[str, list[str]] = {
        "database": [f"connection = {db_url}"],
        "glance_store": [f"filesystem_store_datadir = {store_dir}"],
        "oslo_messaging_notifications": ["driver = memory"],
    }
    for key, value in options.items():
        if "." in key:  # replaces a default above (a multi-valued option would add to it)
            group, name = key.split(".", 1)
            entries = [e for e in groups.get(group, []) if not e.startswith(f"{name} = ")]
            groups[group] = [*entries, f"{name} = {value}"]
    for group, entries in groups.items():
        lines += [f"[{group}]", *entries]
    path = directory / "imgreg-api.conf"
    path.write_text("\n".join(lines) + "\n")
    return path
