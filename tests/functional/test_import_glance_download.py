"""``POST /v2/images/{id}/import`` with glance-download, through the WSGI app: Glance's
refusals of the request, and imports from a "remote region" that is a local HTTP server
(``tests.support.webserver``) answering the image's JSON and data, recording the tokens it
gets. The caller's token and catalog come in the headers keystonemiddleware would set."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from imgreg import wsgi
from imgreg.services import wiring
from tests.functional.test_import import do_import, image_tasks, settled, show
from tests.support.client import Client, stored_files
from tests.support.webserver import BODY, CountingServer, serving

TOKEN = "gAAAA-caller-token"
REMOTE_ID = "7a3f5c2e-1b4d-4e6f-8a9b-0c1d2e3f4a5b"
REGION = "RegionTwo"


@pytest.fixture
def remote() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[CountingServer]:
    """Another origin (another port) the remote may redirect the data to."""
    with serving() as server:
        yield server


def catalog(url: str, region: str = REGION) -> str:
    endpoint = {"region": region, "publicURL": url, "internalURL": url + "/internal"}
    return json.dumps([{"type": "image", "name": "glance", "endpoints": [endpoint]}])


@pytest.fixture
def client(conf: cfg.ConfigOpts, remote: CountingServer, elsewhere: CountingServer) -> Client:
    """glance-download on, and the remote region's server (and the other origin) let through
    the import filters, as an operator lists their internal endpoints."""
    conf.set_override("enabled_import_methods", ["glance-direct", "glance-download"])
    group = "import_filtering_opts"
    conf.set_override("allow_private_addresses", True, group=group)
    conf.set_override("allowed_hosts", ["127.0.0.1"], group=group)
    conf.set_override("allowed_ports", [str(remote.port), str(elsewhere.port)], group=group)
    wiring.reset()
    plain = Client(wsgi.load_app(conf)).as_("p1")
    headers = {"X-Auth-Token": TOKEN, "X-Service-Catalog": catalog(remote.url(""))}
    return Client(plain.app, {**plain.headers, **headers})


def remote_image(server: CountingServer, data: bytes = BODY, **fields: Any) -> dict[str, Any]:
    """Have ``server`` answer the image's JSON and its data; the JSON."""
    image = {
        "id": REMOTE_ID,
        "status": "active",
        "disk_format": "raw",
        "container_format": "ovf",
        "size": len(data),
        "checksum": hashlib.md5(data).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
        "visibility": "shared",
        "name": "remote name",
        "hw_disk_bus": "scsi",
        "trait:CUSTOM_FAST": "required",
        "os_distro": "debian",
        "architecture": "x86_64",  # no allowed prefix
        "os_glance_import_task": "remote-task",  # reserved
        **fields,
    }
    path = f"/v2/images/{REMOTE_ID}"
    server.routes[path] = (200, json.dumps(image).encode(), {"Content-Type": "application/json"})
    server.routes[path + "/file"] = (200, data, {"Content-Type": "application/octet-stream"})
    return image


def glance_download(client: Client, image_id: str, **method: Any) -> Any:
    method.setdefault("glance_image_id", REMOTE_ID)
    method.setdefault("glance_region", REGION)
    return do_import(client, image_id, name="glance-download", **method)


def failed_task(client: Client, image_id: str) -> str:
    image = settled(client, image_id)
    assert image["status"] == "queued", image
    assert image["os_glance_failed_import"] != ""
    (task,) = image_tasks(client, image_id)
    assert task["status"] == "failure"
    return str(task["message"])


def test_imports_the_remote_image_its_formats_and_allowed_properties(client, remote, store_dir):
    wanted = remote_image(remote)
    image = client.create(name="local", disk_format="qcow2", container_format="bare")
    resp = glance_download(client, image["id"])
    assert resp.status_int == 202, resp.text
    done = settled(client, image["id"])
    assert done["status"] == "active", done
    assert (done["disk_format"], done["container_format"]) == ("raw", "ovf")
    assert done["size"] == len(BODY)
    assert (done["checksum"], done["os_hash_value"]) == (
        wanted["checksum"],
        wanted["os_hash_value"],
    )
    assert done["hw_disk_bus"] == "scsi"
    assert done["trait:CUSTOM_FAST"] == "required"
    assert done["os_distro"] == "debian"
    assert "architecture" not in done
    assert done["name"] == "local"  # attributes are not copied
    assert "os_glance_import_task" not in done
    assert client.get(f"/v2/images/{image['id']}/file").body == BODY
    assert stored_files(store_dir) == [image["id"]]
    path = f"/v2/images/{REMOTE_ID}"
    assert remote.tokens == {path: [TOKEN], path + "/file": [TOKEN]}
    (task,) = image_tasks(client, image["id"])
    assert task["status"] == "success"
    method = task["input"]["import_req"]["method"]
    assert method["glance_service_interface"] == "public"  # Glance's default, recorded
    assert TOKEN not in json.dumps(task)


def test_the_token_does_not_follow_a_redirect_to_another_origin(client, remote, elsewhere):
    remote_image(remote)
    path = f"/v2/images/{REMOTE_ID}/file"
    remote.routes[path] = (302, b"", {"Location": elsewhere.url("/body")})
    image = client.create(name="local")
    assert glance_download(client, image["id"]).status_int == 202
    done = settled(client, image["id"])
    assert done["status"] == "active", done
    assert done["os_hash_value"] == hashlib.sha512(BODY).hexdigest()
    assert remote.tokens[path] == [TOKEN]
    assert elsewhere.tokens == {"/body": [None]}


def test_the_interface_picks_the_catalogs_url(client, remote):
    remote_image(remote)
    path = f"/internal/v2/images/{REMOTE_ID}"
    remote.routes[path] = remote.routes[f"/v2/images/{REMOTE_ID}"]
    remote.routes[path + "/file"] = remote.routes[f"/v2/images/{REMOTE_ID}/file"]
    image = client.create(name="local")
    resp = glance_download(client, image["id"], glance_service_interface="internal")
    assert resp.status_int == 202
    assert settled(client, image["id"])["status"] == "active"
    assert remote.tokens[path + "/file"] == [TOKEN]


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ({"glance_region": None}, "'glance_region' needs to be set for glance-download"),
        ({"glance_image_id": None}, "'glance_image_id' needs to be set for glance-download"),
        ({"glance_image_id": "nope"}, "Remote image id does not look like a UUID: nope"),
        ({"glance_image_id": 12}, "Remote image id does not look like a UUID: 12"),
        ({"glance_service_interface": 1}, "'glance_service_interface' must be"),
    ],
)
def test_the_request_is_checked(client, remote, method, message):
    image = client.create(name="local")
    body = {"glance_image_id": REMOTE_ID, "glance_region": REGION, **method}
    body = {k: v for k, v in body.items() if v is not None}
    resp = do_import(client, image["id"], name="glance-download", **body)
    assert resp.status_int == 400
    assert message in resp.text
    assert show(client, image["id"])["status"] == "queued"
    assert image_tasks(client, image["id"]) == []
    assert remote.total == 0


def test_the_state_is_checked_before_the_fields_as_in_glance(client, remote):
    image = client.create(name="local")
    assert client.put_file(image["id"], BODY).status_int == 204
    resp = do_import(client, image["id"], name="glance-download")
    assert resp.status_int == 409
    assert "Image with status active cannot be target for import" in resp.text
    no_formats = client.post("/v2/images", {"name": "x"}).json
    resp = do_import(client, no_formats["id"], name="glance-download")
    assert resp.status_int == 409
    assert "'container_format' needs to be set before import" in resp.text


def test_not_offered_unless_enabled(conf, client, remote):
    conf.set_override("enabled_import_methods", ["glance-direct"])
    image = client.create(name="local")
    resp = glance_download(client, image["id"])
    assert resp.status_int == 400
    assert "Unknown import method name 'glance-download'." in resp.text


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Service-Catalog": catalog("http://127.0.0.1:9", region="RegionOne")},
        {"X-Service-Catalog": "{not json"},
        {"X-Service-Catalog": ""},
    ],
)
def test_no_endpoint_for_the_region_fails_the_task_as_in_glance(client, remote, headers):
    """Glance looks the endpoint up in the import's task: the request gets its 202, the task
    fails with Glance's message, the image is queued again."""
    caller = Client(client.app, {**client.headers, **headers})
    image = caller.create(name="local")
    assert glance_download(caller, image["id"]).status_int == 202
    message = failed_task(caller, image["id"])
    assert "public glance endpoint not found for region RegionTwo" in message
    assert remote.total == 0


def test_an_endpoint_the_filters_refuse_is_not_contacted(conf, client, remote):
    conf.set_override("allowed_ports", ["443"], group="import_filtering_opts")
    remote_image(remote)
    image = client.create(name="local")
    assert glance_download(client, image["id"]).status_int == 202
    message = failed_task(client, image["id"])
    assert "Processed URI for glance-download does not pass filtering" in message
    assert f"port {remote.port} is not allowed" in message
    assert remote.total == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "queued"}, "Source image status should be active instead of queued"),
        ({"size": None}, f"Size attribute of remote image {REMOTE_ID} could not be determined"),
        ({"disk_format": "nope"}, "disk_format 'nope' is not accepted here"),
        ({"size": len(BODY) + 1}, "different from expected"),
    ],
)
def test_a_remote_image_that_will_not_do_fails_the_task(client, remote, store_dir, fields, message):
    remote_image(remote, **fields)
    image = client.create(name="local", disk_format="qcow2")
    assert glance_download(client, image["id"]).status_int == 202
    assert message in failed_task(client, image["id"])
    after = show(client, image["id"])
    assert after["disk_format"] == "qcow2"  # nothing of the remote's was kept
    assert "hw_disk_bus" not in after
    assert stored_files(store_dir) == []


def test_a_missing_remote_image_fails_the_task(client, remote):
    image = client.create(name="local")
    other = str(uuid.uuid4())
    assert glance_download(client, image["id"], glance_image_id=other).status_int == 202
    assert "answered HTTP 404" in failed_task(client, image["id"])
    assert remote.tokens == {f"/v2/images/{other}": [TOKEN]}
