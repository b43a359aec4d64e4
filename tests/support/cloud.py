"""imgreg's API as one user of ``tools/keystone``'s Keystone sees it (the browser tests check
each page against it)."""

from __future__ import annotations

import uuid
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.support.server import Server

PASSWORD = "password"  # every user's, see tools/keystone


def keystone_session(keystone: dict[str, Any], user: str, project: str) -> ks_session.Session:
    auth = v3.Password(
        auth_url=keystone["auth_url"],
        username=user,
        password=PASSWORD,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return ks_session.Session(auth=auth)


def authtoken_options(keystone: dict[str, Any]) -> dict[str, object]:
    """imgreg-api's ``keystone`` flavor against that Keystone, as its ``imgreg`` service user
    (``write_config`` option names)."""
    return {
        "paste_deploy.flavor": "keystone",
        "keystone_authtoken.www_authenticate_uri": keystone["auth_url"],
        "keystone_authtoken.auth_url": keystone["auth_url"],
        "keystone_authtoken.auth_type": "password",
        "keystone_authtoken.username": "imgreg",
        "keystone_authtoken.password": PASSWORD,
        "keystone_authtoken.project_name": "service",
        "keystone_authtoken.user_domain_name": "Default",
        "keystone_authtoken.project_domain_name": "Default",
    }


class Api:
    """imgreg's API as one Keystone user sees it."""

    def __init__(self, keystone: dict[str, Any], imgreg: Server, user: str, project: str):
        self.session = keystone_session(keystone, user, project)
        self.url = imgreg.url

    def image(self, image_id: str) -> dict[str, Any]:
        resp = self.session.get(f"{self.url}/v2/images/{image_id}", raise_exc=False)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def status(self, image_id: str) -> int:
        resp = self.session.get(f"{self.url}/v2/images/{image_id}", raise_exc=False)
        return int(resp.status_code)

    def names(self, **filters: str) -> set[str]:
        resp = self.session.get(f"{self.url}/v2/images", params=filters)
        return {image["name"] for image in resp.json()["images"]}

    def create(self, data: bytes | None = None, **body: Any) -> dict[str, Any]:
        body = {"container_format": "bare", **body}
        image = self.session.post(f"{self.url}/v2/images", json=body).json()
        if data is not None:
            headers = {"Content-Type": "application/octet-stream"}
            self.session.put(f"{self.url}/v2/images/{image['id']}/file", data=data, headers=headers)
        return image

    def by_name(self, name: str) -> list[dict[str, Any]]:
        resp = self.session.get(f"{self.url}/v2/images", params={"name": name})
        return resp.json()["images"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
