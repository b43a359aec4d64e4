"""A first pass through the flow in process: create, upload, show, download."""

import hashlib

from tests.support.client import stored_files
from tests.support.images import MiB, qcow2


def test_create_upload_download(api, store_dir):
    image = api.create(name="smoke", disk_format="qcow2")
    data = qcow2(b"x" * 3000)  # the content must be what disk_format says
    assert api.put_file(image["id"], data).status_int == 204
    shown = api.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == 64 * MiB
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    got = api.get(f"/v2/images/{image['id']}/file")
    assert got.body == data
    assert got.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    assert stored_files(store_dir) == [image["id"]]
