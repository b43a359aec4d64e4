"""Notifications (``memory`` driver): event types, order, priorities and payloads."""

from __future__ import annotations

import hashlib

from imgreg.services import wiring
from tests.support.client import client_with

PAYLOAD_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size", "is_public",
    "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
IMPORT_KEYS = {"os_glance_importing_to_stores", "os_glance_failed_import"}
DATA = b"notify me" * 100


def events(sent) -> list[tuple[str, str, str | None]]:
    """(event_type, priority, payload status) of each notification."""
    return [
        (
            n["event_type"],
            n["priority"],
            n["payload"].get("status") if isinstance(n["payload"], dict) else None,
        )
        for n in sent
    ]


def test_envelope(api, notifications):
    api.create(name="x")
    (message,) = notifications
    assert set(message) == {
        "message_id",
        "publisher_id",
        "event_type",
        "priority",
        "timestamp",
        "payload",
    }
    assert message["publisher_id"] == "image.localhost"
    assert message["priority"] == "INFO"


def test_create_sends_image_create(api, notifications):
    image = api.as_("p1").create(name="made", os_distro="debian", tags=["a"], min_ram=64)
    assert events(notifications) == [("image.create", "INFO", "queued")]
    payload = notifications[0]["payload"]
    assert set(payload) == PAYLOAD_KEYS
    assert payload == {
        "id": image["id"], "name": "made", "status": "queued",
        "created_at": image["created_at"], "updated_at": image["updated_at"],
        "min_disk": 0, "min_ram": 64, "protected": False, "checksum": None, "owner": "p1",
        "disk_format": "raw", "container_format": "bare", "size": None, "virtual_size": None,
        "is_public": False, "visibility": "shared", "properties": {"os_distro": "debian"},
        "tags": ["a"], "deleted": False, "deleted_at": None,
    }  # fmt: skip


def test_public_image_payload_says_is_public(api, notifications):
    api.create(visibility="public")
    assert notifications[0]["payload"]["is_public"] is True
    assert notifications[0]["payload"]["visibility"] == "public"


def test_tag_add_and_delete_send_image_update(api, notifications):
    """Glance saves the image for every tag PUT, even of a tag it already has, and for every
    DELETE of one it has; a DELETE of one it has not is 404 and sends nothing."""
    image = api.create(name="tagged", tags=["a"])
    url = f"/v2/images/{image['id']}/tags"
    notifications.clear()
    assert api.request("PUT", f"{url}/b").status_int == 204
    assert api.request("PUT", f"{url}/b").status_int == 204
    assert api.delete(f"{url}/a").status_int == 204
    assert api.delete(f"{url}/a").status_int == 404
    assert events(notifications) == [("image.update", "INFO", "queued")] * 3
    assert [n["payload"]["tags"] for n in notifications] == [["a", "b"], ["a", "b"], ["b"]]
    assert {n["payload"]["id"] for n in notifications} == {image["id"]}


def test_refused_create_sends_nothing(api, notifications):
    assert api.post("/v2/images", {"status": "active"}).status_int == 403
    assert api.as_("p1").post("/v2/images", {"visibility": "public"}).status_int == 403
    assert notifications == []


def test_upload_sends_the_glance_sequence(api, notifications):
    image = api.create(name="up")
    notifications.clear()
    assert api.put_file(image["id"], DATA).status_int == 204
    assert events(notifications) == [
        ("image.update", "INFO", "saving"),
        ("image.prepare", "INFO", "saving"),
        ("image.upload", "INFO", "active"),
        ("image.activate", "INFO", "active"),
        ("image.update", "INFO", "active"),
    ]
    update, prepare, upload, activate, final = (n["payload"] for n in notifications)
    assert set(update) == PAYLOAD_KEYS
    assert set(prepare) == PAYLOAD_KEYS | IMPORT_KEYS
    assert set(upload) == PAYLOAD_KEYS | IMPORT_KEYS
    assert prepare["os_glance_importing_to_stores"] == []
    assert prepare["os_glance_failed_import"] == []
    assert set(activate) == PAYLOAD_KEYS
    assert (update["size"], update["checksum"]) == (None, None)
    checksum = hashlib.md5(DATA).hexdigest()
    for payload in (upload, activate, final):
        assert payload["id"] == image["id"]
        assert (payload["size"], payload["checksum"]) == (len(DATA), checksum)


def test_failed_upload_sends_upload_error_then_update_queued(conf):
    client = client_with(conf, image_size_cap=10)
    sent = wiring.services().notifier.sent
    image = client.create(name="big")
    sent.clear()
    assert client.put_file(image["id"], b"x" * 11).status_int == 413
    assert events(sent) == [
        ("image.update", "INFO", "saving"),
        ("image.prepare", "INFO", "saving"),
        ("image.upload", "ERROR", None),
        ("image.update", "INFO", "queued"),
    ]
    assert "too large" in sent[2]["payload"]


def test_refused_upload_sends_nothing(api, notifications):
    image = api.create(name="x")
    api.put_file(image["id"], DATA)
    notifications.clear()
    assert api.put_file(image["id"], DATA).status_int == 409
    assert api.put_file(image["id"], DATA, **{"Content-Type": "text/plain"}).status_int == 415
    assert notifications == []


def test_delete_sends_image_delete_with_deleted_true(api, notifications):
    image = api.create(name="doomed", foo="bar")
    notifications.clear()
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert [n["event_type"] for n in notifications] == ["image.delete"]
    payload = notifications[0]["payload"]
    assert set(payload) == PAYLOAD_KEYS
    assert payload["id"] == image["id"]
    assert payload["deleted"] is True
    assert payload["status"] == "deleted"
    assert payload["deleted_at"] is not None
    assert payload["deleted_at"].endswith("Z")
    assert payload["properties"] == {"foo": "bar"}


def test_refused_delete_sends_nothing(api, notifications):
    image = api.create(name="keep", protected=True)
    notifications.clear()
    assert api.delete(f"/v2/images/{image['id']}").status_int == 403
    assert notifications == []


def test_disabled_notifications_are_not_sent(conf):
    client = client_with(conf, disabled_notifications=["image.update"])
    sent = wiring.services().notifier.sent
    image = client.create(name="x")
    client.put_file(image["id"], DATA)
    assert [n["event_type"] for n in sent] == [
        "image.create",
        "image.prepare",
        "image.upload",
        "image.activate",
    ]
