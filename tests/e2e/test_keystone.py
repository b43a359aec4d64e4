"""The ``keystone`` flavor against a real Keystone (``tools/keystone``: PyPI keystone, SQLite,
fernet tokens, gunicorn on loopback) with real tokens.

Keystone is started once per pytest session (its venv, ``.venv-keystone/``, is cached across
sessions; the first one installs it, which takes a while). Each test gets its own imgreg-api
(the e2e ``server`` fixture) with ``[paste_deploy] flavor = keystone``.

In tools/test's later passes (PostgreSQL, MariaDB) only ``test_openstack_cli_through_the_catalog``
runs: a CLI logged in through Keystone meets a server on every engine. The others are about the
tokens and the identity headers, which reach no database, and run in the first pass only
(SQLite, ``first_pass``); what they ask of the database (owners, members, a caller without a
project, metadefs' visibility) is tested on every engine by ``tests/functional/``
(``test_policy_matrix.py``, ``test_members.py``, ``test_no_project.py``,
``test_metadef_namespaces.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.support.background import tool_running
from tests.support.cloud import PASSWORD, authtoken_options
from tests.support.server import BIN

pytestmark = pytest.mark.e2e

START_TIMEOUT = 900.0  # the first run creates Keystone's venv with pip


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with tool_running("keystone", tmp_path_factory.mktemp("keystone"), START_TIMEOUT) as info:
        yield info


def auth(keystone: dict[str, Any], user: str, project: str) -> v3.Password:
    return v3.Password(
        auth_url=keystone["auth_url"],
        username=user,
        password=PASSWORD,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )


def token(keystone: dict[str, Any], user: str, project: str) -> str:
    return str(ks_session.Session(auth=auth(keystone, user, project)).get_token())


@pytest.fixture
def server_options(keystone: dict[str, Any]) -> dict[str, object]:
    return authtoken_options(keystone)


class As:
    """Requests to imgreg-api with one user's token."""

    def __init__(self, server: Any, tok: str | None) -> None:
        self.url = server.url
        self.headers = {"X-Auth-Token": tok} if tok else {}

    def __call__(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        if "json" in kw and method == "PATCH":
            headers["Content-Type"] = "application/openstack-images-v2.1-json-patch"
            kw["data"] = json.dumps(kw.pop("json"))
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def create(self, **body: Any) -> dict[str, Any]:
        resp = self("POST", "/v2/images", json={"disk_format": "raw", "container_format": "bare",
                                                **body})  # fmt: skip
        assert resp.status_code == 201, resp.text
        return dict(resp.json())


@pytest.fixture(scope="session")
def tokens(keystone: dict[str, Any]) -> dict[str, str]:
    """Project-scoped tokens (valid an hour) of ``p1-member`` etc. (see tools/keystone) and
    ``admin`` (project admin, role admin), fetched once: Keystone hashes passwords slowly."""
    names = [f"{p}-{r}" for p in ("p1", "p2") for r in ("reader", "member", "admin")]
    found = {n: token(keystone, n, n.split("-")[0]) for n in names}
    found["admin"] = token(keystone, "admin", "admin")
    return found


@pytest.fixture
def users(server: Any, tokens: dict[str, str]) -> dict[str, As]:
    return {name: As(server, tok) for name, tok in tokens.items()}


@pytest.mark.first_pass
def test_no_token_or_bad_token_is_401(server: Any, keystone: dict[str, Any]) -> None:
    anonymous = As(server, None)
    resp = anonymous("GET", "/v2/images")
    assert resp.status_code == 401
    assert keystone["url"] in resp.headers.get("WWW-Authenticate", "")
    assert anonymous("POST", "/v2/images", json={"name": "x"}).status_code == 401
    assert As(server, "gAAAAAB-not-a-token")("GET", "/v2/images").status_code == 401
    # identity headers a client makes up are never believed, with or without a token
    forged = {
        "X-Identity-Status": "Confirmed",
        "X-Roles": "admin,member,reader",
        "X-Project-Id": "p1",
        "X-User-Id": "u1",
    }
    assert anonymous("GET", "/v2/images", headers=forged).status_code == 401
    # the versions document needs no token (clients discover the API with it)
    assert anonymous("GET", "/versions").status_code == 200
    assert anonymous("GET", "/").status_code == 300


@pytest.mark.first_pass
def test_forged_admin_role_with_a_member_token(server: Any, users: dict[str, As]) -> None:
    image = users["p1-member"].create(name="mine")
    other = users["p2-member"]
    forged = {"X-Roles": "admin", "X-Identity-Status": "Confirmed", "X-Is-Admin-Project": "True"}
    assert other("GET", f"/v2/images/{image['id']}", headers=forged).status_code == 404
    resp = other("POST", "/v2/images", json={"name": "p", "visibility": "public"}, headers=forged)
    assert resp.status_code == 403, resp.text


@pytest.mark.first_pass
def test_roles_and_projects(server: Any, keystone: dict[str, Any], users: dict[str, As]) -> None:
    p1, p2 = keystone["projects"]["p1"], keystone["projects"]["p2"]
    private = users["p1-member"].create(name="private")
    assert private["owner"] == p1
    assert private["visibility"] in ("private", "shared")

    # another project's member does not see it; its own project's reader does
    assert users["p2-member"]("GET", f"/v2/images/{private['id']}").status_code == 404
    assert users["p2-admin"]("GET", f"/v2/images/{private['id']}").status_code == 200  # admin
    assert users["p1-reader"]("GET", f"/v2/images/{private['id']}").status_code == 200
    listed = users["p2-member"]("GET", "/v2/images").json()["images"]
    assert private["id"] not in {i["id"] for i in listed}

    # a reader may not create or change
    assert users["p1-reader"]("POST", "/v2/images", json={"name": "r"}).status_code == 403
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    resp = users["p1-reader"]("PATCH", f"/v2/images/{private['id']}", json=patch)
    assert resp.status_code == 403, resp.text

    # only an admin may publish; another project's member may read but not change it
    resp = users["p1-member"]("POST", "/v2/images", json={"name": "x", "visibility": "public"})
    assert resp.status_code == 403, resp.text
    public = users["p1-admin"].create(name="public", visibility="public")
    assert public["owner"] == p1
    assert users["p2-member"]("GET", f"/v2/images/{public['id']}").status_code == 200
    resp = users["p2-member"]("PATCH", f"/v2/images/{public['id']}", json=patch)
    assert resp.status_code == 403, resp.text
    resp = users["p2-member"]("DELETE", f"/v2/images/{public['id']}")
    assert resp.status_code == 403, resp.text
    resp = users["p1-member"]("PATCH", f"/v2/images/{private['id']}", json=patch)
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "renamed"

    # p2's image, then the administrator (project admin) sees every image
    theirs = users["p2-member"].create(name="theirs")
    assert theirs["owner"] == p2
    seen = {i["id"] for i in users["admin"]("GET", "/v2/images").json()["images"]}
    assert {private["id"], public["id"], theirs["id"]} <= seen
    assert users["admin"]("DELETE", f"/v2/images/{theirs['id']}").status_code == 204


@pytest.mark.first_pass
def test_upload_and_download_with_a_token(server: Any, users: dict[str, As]) -> None:
    member = users["p1-member"]
    image = member.create(name="data")
    data = os.urandom(1 << 20)
    resp = member("PUT", f"/v2/images/{image['id']}/file", data=data,
                  headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert resp.status_code == 204, resp.text
    assert member("GET", f"/v2/images/{image['id']}/file").content == data
    assert users["p2-member"]("GET", f"/v2/images/{image['id']}/file").status_code == 404


@pytest.fixture
def catalog(server: Any, keystone: dict[str, Any]) -> Iterator[None]:
    """The image service in Keystone's catalog, pointing at this test's imgreg-api."""
    sess = ks_session.Session(auth=auth(keystone, "admin", "admin"))
    base = keystone["auth_url"]
    name = f"imgreg-{uuid.uuid4().hex[:8]}"
    service = sess.post(
        f"{base}/services", json={"service": {"type": "image", "name": name}}
    ).json()["service"]
    for interface in ("public", "internal"):
        sess.post(
            f"{base}/endpoints",
            json={
                "endpoint": {
                    "service_id": service["id"],
                    "interface": interface,
                    "url": server.url,
                    "region_id": "RegionOne",
                }
            },
        )
    try:
        yield
    finally:
        sess.delete(f"{base}/services/{service['id']}")  # its endpoints go with it


def cli_env(keystone: dict[str, Any], user: str, project: str) -> dict[str, str]:
    """The environment of an ``openstack`` CLI that logs in to Keystone as ``user``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("OS_")},
        "OS_AUTH_URL": keystone["auth_url"],
        "OS_USERNAME": user,
        "OS_PASSWORD": PASSWORD,
        "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": "RegionOne",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_INTERFACE": "public",
    }


def openstack(server: Any, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``openstack ARGS``, run where no clouds.yaml is found, so only ``env`` configures it."""
    return subprocess.run(
        [str(BIN / "openstack"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=server.store_dir.parent,
        stdin=subprocess.DEVNULL,  # `image create` without --file would read its stdin
    )


def test_openstack_cli_through_the_catalog(
    server: Any, keystone: dict[str, Any], users: dict[str, As], catalog: None
) -> None:
    image = users["p1-member"].create(name="via-catalog")
    result = openstack(server, cli_env(keystone, "p1-member", "p1"), "image", "list", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert image["id"] in {row["ID"] for row in json.loads(result.stdout)}
    # the p2 member's CLI does not list it
    result = openstack(server, cli_env(keystone, "p2-member", "p2"), "image", "show", image["id"])
    assert result.returncode != 0


@pytest.mark.first_pass
def test_openstack_cli_shares_an_image(
    server: Any, keystone: dict[str, Any], catalog: None, tmp_path: Path
) -> None:
    """``image add project`` / ``image member list`` / ``image set --accept`` (issue 4)."""
    p1, p2 = keystone["projects"]["p1"], keystone["projects"]["p2"]
    owner, member = cli_env(keystone, "p1-member", "p1"), cli_env(keystone, "p2-member", "p2")

    def run(env: dict[str, str], *args: str) -> Any:
        result = openstack(server, env, *args, "-f", "json")
        assert result.returncode == 0, f"{args}: {result.stderr}\n{server.access_log()}"
        return json.loads(result.stdout)

    def members(env: dict[str, str], image_id: str) -> list[tuple[str, str]]:
        rows = run(env, "image", "member", "list", image_id)
        return [(row["Member ID"], row["Status"]) for row in rows]

    def shared_with_p2() -> set[str]:
        return {row["ID"] for row in run(member, "image", "list", "--shared")}

    data = os.urandom(4096)
    (tmp_path / "disk.raw").write_bytes(data)
    image = run(owner, "image", "create", "--shared", "--file", str(tmp_path / "disk.raw"),
                "shared-via-cli")  # fmt: skip
    assert (image["owner"], image["visibility"]) == (p1, "shared")
    # the CLI takes a project ID: a member may not look project names up in Keystone
    added = run(owner, "image", "add", "project", image["id"], p2)
    assert (added["image_id"], added["member_id"], added["status"]) == (image["id"], p2, "pending")
    assert members(owner, image["id"]) == [(p2, "pending")]

    # pending: p2 may read the image, but does not list it until it accepts
    assert run(member, "image", "show", image["id"])["id"] == image["id"]
    assert image["id"] not in shared_with_p2()
    result = openstack(server, member, "image", "set", "--accept", image["id"])
    assert result.returncode == 0, f"{result.stderr}\n{server.access_log()}"
    assert image["id"] in shared_with_p2()
    assert run(member, "image", "show", image["id"])["name"] == "shared-via-cli"
    assert members(owner, image["id"]) == [(p2, "accepted")]
    assert members(member, image["id"]) == [(p2, "accepted")]
    saved = tmp_path / "saved.raw"
    result = openstack(server, member, "image", "save", "--file", str(saved), image["id"])
    assert result.returncode == 0, result.stderr
    assert saved.read_bytes() == data

    # a member may not share the image further
    result = openstack(server, member, "image", "add", "project", image["id"], p1)
    assert result.returncode != 0
    assert "403" in result.stderr or "Forbidden" in result.stderr, result.stderr
    assert members(owner, image["id"]) == [(p2, "accepted")]


# --- tokens without a project (issue 15, findings 2 and 3) ---------------------------------


@pytest.fixture(scope="session")
def unscoped_to_project(keystone: dict[str, Any], tokens: dict[str, str]) -> dict[str, str]:
    """A system-scoped token of ``admin`` (``keystone-manage bootstrap`` gives it the admin
    role on the system) and a domain-scoped one of ``p1-member``, given the member role on
    the Default domain here: keystonemiddleware passes both on with no project."""
    base = keystone["auth_url"]
    system = v3.Password(auth_url=base, username="admin", password=PASSWORD,
                         user_domain_name="Default", system_scope="all")  # fmt: skip
    system_token = str(ks_session.Session(auth=system).get_token())
    headers = {"X-Auth-Token": system_token}
    roles = requests.get(f"{base}/roles?name=member", headers=headers, timeout=30).json()["roles"]
    user = keystone["users"]["p1-member"]
    grant = f"{base}/domains/default/users/{user}/roles/{roles[0]['id']}"
    assert requests.put(grant, headers=headers, timeout=30).status_code == 204
    domain = v3.Password(auth_url=base, username="p1-member", password=PASSWORD,
                         user_domain_name="Default", domain_name="Default")  # fmt: skip
    return {"system": system_token, "domain": str(ks_session.Session(auth=domain).get_token())}


@pytest.mark.first_pass
@pytest.mark.parametrize("scope", ["system", "domain"])
def test_a_token_without_a_project_gets_what_glance_answers(
    server: Any, users: dict[str, As], unscoped_to_project: dict[str, str], scope: str
) -> None:
    """Glance 33 under Secure RBAC: 403 for create and list, 404 for anything on an image
    (before: 500 on every call, keystonemiddleware's empty headers). Also on an image without
    owner, which a caller without a project must not own either."""
    caller = As(server, unscoped_to_project[scope])
    admin = users["admin"]
    images = [
        users["p1-member"].create(name="p1's", visibility="shared"),
        admin.create(name="no owner", visibility="public", owner=None),
        admin.create(name="no owner, private", owner=None),
    ]
    assert images[1]["owner"] is None
    octets = {"Content-Type": "application/octet-stream"}
    assert admin("PUT", f"/v2/images/{images[1]['id']}/file", data=b"x", headers=octets).ok
    for body in ({"name": "mine"}, {"name": "mine", "owner": None}):
        resp = caller("POST", "/v2/images", json=body)
        assert resp.status_code == 403, resp.text
    assert caller("GET", "/v2/images").status_code == 403
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    for image in images:
        url = f"/v2/images/{image['id']}"
        before = admin("GET", url).json()
        outcomes = {
            "show": caller("GET", url),
            "update": caller("PATCH", url, json=patch),
            "upload": caller("PUT", f"{url}/file", data=b"data", headers=octets),
            "download": caller("GET", f"{url}/file"),
            "deactivate": caller("POST", f"{url}/actions/deactivate"),
            "members": caller("GET", f"{url}/members"),
            "delete": caller("DELETE", url),
        }
        statuses = {name: resp.status_code for name, resp in outcomes.items()}
        assert statuses == dict.fromkeys(outcomes, 404), image["name"]
        assert admin("GET", url).json() == before


@pytest.mark.first_pass
def test_metadef_clis_with_keystone(server: Any, keystone: dict[str, Any], catalog: None) -> None:
    """``openstack image metadef …`` and ``glance md-*`` logged in through Keystone: the
    project admin writes, a member may not, a reader of another project sees only what is
    public (Glance's Secure-RBAC metadef defaults)."""
    admin = cli_env(keystone, "p1-admin", "p1")
    member = cli_env(keystone, "p1-member", "p1")
    reader = cli_env(keystone, "p2-reader", "p2")

    def run(env: dict[str, str], *args: str) -> Any:
        result = openstack(server, env, "image", "metadef", *args, "-f", "json")
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return json.loads(result.stdout)

    made = run(admin, "namespace", "create", "OS::KS::Public", "--public")
    assert (made["namespace"], made["owner"]) == ("OS::KS::Public", keystone["projects"]["p1"])
    run(admin, "namespace", "create", "OS::KS::Private", "--private")
    run(admin, "property", "create", "OS::KS::Public", "--name", "hw_x", "--title", "X",
        "--type", "string", "--schema", "{}")  # fmt: skip
    denied = openstack(server, member, "image", "metadef", "namespace", "create", "OS::KS::M")
    assert denied.returncode != 0 and "403" in denied.stderr + denied.stdout, denied.stderr
    seen = {n["namespace"] for n in run(reader, "namespace", "list")}
    assert seen == {"OS::KS::Public"}
    assert [p["name"] for p in run(reader, "property", "list", "OS::KS::Public")] == ["hw_x"]
    hidden = openstack(server, reader, "image", "metadef", "namespace", "show", "OS::KS::Private")
    assert hidden.returncode != 0
    # glanceclient reads the same OS_* settings and finds imgreg in Keystone's catalog
    glance = subprocess.run(
        [str(BIN / "glance"), "md-namespace-list"],
        capture_output=True, text=True, timeout=120, env=reader, cwd=server.store_dir.parent,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert glance.returncode == 0, glance.stderr
    assert "OS::KS::Public" in glance.stdout and "OS::KS::Private" not in glance.stdout
    deleted = openstack(server, admin, "image", "metadef", "namespace", "delete", "OS::KS::Public")
    assert deleted.returncode == 0, deleted.stderr
