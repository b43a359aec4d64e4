"""``RequestContext``: who is calling, as the context middleware read it from the request."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class RequestContext:
    request_id: str
    project_id: str | None = None
    user_id: str | None = None
    roles: list[str] = dataclasses.field(default_factory=list)
    is_admin: bool = False
    authenticated: bool = True

    def policy_credentials(self) -> dict[str, Any]:
        """What oslo.policy's rules see as ``creds``."""
        return {
            "project_id": self.project_id,
            "user_id": self.user_id,
            "roles": self.roles,
            "is_admin": self.is_admin,
        }
