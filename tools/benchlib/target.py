"""One endpoint under test: how to reach it, its server's PIDs, what its run collected."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .client import Endpoint


@dataclass
class Target:
    label: str
    url: str
    roots: list[int]
    ep: Endpoint
    run_id: str
    seeded: list[str] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)  # --big-catalog: the images to PATCH
    deep_query: str = ""  # --big-catalog: the query of the deep page
    created: list[str] = field(default_factory=list)  # every image still to delete
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def track(self, image_id: str) -> None:
        with self.lock:
            self.created.append(image_id)

    def error(self, phase: str, message: str) -> None:
        with self.lock:
            self.errors.append(f"[{self.label}] {phase}: {message}")

    def image_body(
        self, name: str, disk_format: str = "raw", visibility: str | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "disk_format": disk_format, "container_format": "bare"}
        return body if visibility is None else {**body, "visibility": visibility}
