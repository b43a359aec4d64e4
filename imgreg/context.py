"""``RequestContext``: who is calling, as the context middleware read it from the request.

A caller may have no project: a system- or domain-scoped Keystone token, or trusted headers
without ``X-Project-Id``. Such a caller owns nothing, so every comparison of "the caller's
project" with an image's owner or member goes through ``is_project``, which never matches a
missing project (not even an image's missing owner), and ``policy_credentials`` leaves missing
values out, so that no ``project_id:%(...)s`` rule can match them either.

The caller's token and service catalog ride along for the one import that acts as the caller
elsewhere (glance-download); they are left out of the dataclass's repr.
"""

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
    # the roles of a service token sent with the user's (keystonemiddleware's X-Service-Roles,
    # set only for a valid one): Nova acting for a user, say; no policy rule reads them
    service_roles: list[str] = dataclasses.field(default_factory=list)
    authenticated: bool = True
    # a system-scoped token's scope ("all"), a domain-scoped token's domain: oslo.policy checks
    # them against each rule's scope_types (Glance's rules, and imgreg's, are for projects)
    system_scope: str | None = None
    domain_id: str | None = None
    # the caller's token and service catalog (keystonemiddleware's X-Auth-Token and
    # X-Service-Catalog), for glance-download, which calls another region's image service as
    # the caller; never shown in a repr (nor so in logs)
    auth_token: str | None = dataclasses.field(default=None, repr=False)
    service_catalog: list[dict[str, Any]] = dataclasses.field(default_factory=list, repr=False)

    def is_project(self, project: str | None) -> bool:
        """Whether ``project`` (an image's owner, a member id) is the caller's own project.
        False for a caller without a project, whatever ``project`` is."""
        return bool(self.project_id) and project == self.project_id

    def policy_credentials(self) -> dict[str, Any]:
        """What oslo.policy's rules see as ``creds``: only the values the caller has (a
        missing key fails every check on it; ``None`` would be compared as ``"None"``)."""
        creds: dict[str, Any] = {"roles": self.roles, "is_admin": self.is_admin}
        for name in ("project_id", "user_id", "system_scope", "domain_id"):
            value = getattr(self, name)
            if value:
                creds[name] = value
        return creds
