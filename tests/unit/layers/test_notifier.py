"""Notifications: which events, in which order, with which payloads (glance-api.md §4.3)."""

from __future__ import annotations

import io

import pytest

from imgreg.domain import errors
from imgreg.layers.notifier import NotifierImageFactory, NotifierImageRepo
from imgreg.notifications import Notifier
from tests.support.builders import make_conf, make_image, member
from tests.unit.layers.recording import RecordingFactory, RecordingRepo

# Glance's format_image_notification keys; locations are deliberately left out.
IMAGE_PAYLOAD = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size",
    "is_public", "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
DATA_PAYLOAD = IMAGE_PAYLOAD | {"os_glance_importing_to_stores", "os_glance_failed_import"}


def notifier(**overrides):
    return Notifier(make_conf(oslo_messaging_notifications__driver=["memory"], **overrides))


def events(n):
    return [(m["event_type"], m["priority"]) for m in n.sent]


def sample_image(**fields):
    fields.setdefault("name", "img")
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    return make_image(
        visibility="public", tags={"b", "a"}, extra_properties={"k": "v"},
        locations=["file:///secret/path"], **fields,
    )  # fmt: skip


def activating_upload(image, stream, size):
    image.status = "active"
    image.size = size
    return image


def test_add_sends_create_with_the_image_payload():
    n = notifier()
    image = sample_image(min_ram=64)
    assert NotifierImageRepo(RecordingRepo(), member(), n).add(image) is image
    assert events(n) == [("image.create", "INFO")]
    message = n.sent[0]
    assert message["publisher_id"] == "image.localhost"
    payload = message["payload"]
    assert set(payload) == IMAGE_PAYLOAD
    assert payload["id"] == image.id
    assert (payload["name"], payload["owner"], payload["min_ram"]) == ("img", image.owner, 64)
    assert (payload["is_public"], payload["visibility"]) == (True, "public")
    assert payload["properties"] == {"k": "v"}
    assert payload["tags"] == ["a", "b"]
    assert (payload["deleted"], payload["deleted_at"]) == (False, None)
    assert payload["created_at"] == image.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_payload_of_a_private_image_is_not_public():
    n = notifier()
    NotifierImageRepo(RecordingRepo(), member(), n).add(make_image(visibility="private"))
    assert n.sent[0]["payload"]["is_public"] is False


def test_save_sends_update_after_the_save():
    n = notifier()
    seen = []
    inner = RecordingRepo(save=lambda image, from_state: (seen.append(events(n)), image)[1])
    image = sample_image()
    NotifierImageRepo(inner, member(), n).save(image, from_state="queued")
    assert seen == [[]]
    assert inner.only("save").kwargs == {"from_state": "queued"}
    assert events(n) == [("image.update", "INFO")]
    assert set(n.sent[0]["payload"]) == IMAGE_PAYLOAD


def test_remove_sends_delete_with_deleted_fields():
    n = notifier()
    image = sample_image()
    NotifierImageRepo(RecordingRepo(), member(), n).remove(image)
    assert events(n) == [("image.delete", "INFO")]
    payload = n.sent[0]["payload"]
    assert set(payload) == IMAGE_PAYLOAD
    assert payload["deleted"] is True
    assert payload["deleted_at"] is not None


@pytest.mark.parametrize("op", ["add", "save", "remove"])
def test_nothing_is_sent_when_the_inner_layer_fails(op):
    n = notifier()
    inner = RecordingRepo(**{op: errors.Conflict("no")})
    with pytest.raises(errors.Conflict):
        getattr(NotifierImageRepo(inner, member(), n), op)(sample_image())
    assert n.sent == []


def test_upload_success_order():
    n = notifier()
    seen = []

    def upload(image, stream, size):
        seen.append(events(n))
        return activating_upload(image, stream, size)

    inner = RecordingRepo(upload=upload)
    image = sample_image(status="saving")
    stream = io.BytesIO(b"1234")
    NotifierImageRepo(inner, member(), n).upload(image, stream, 4)
    assert seen == [[("image.prepare", "INFO")]]  # prepare goes out before any data moves
    assert inner.only("upload").args == (image, stream, 4)
    assert events(n) == [
        ("image.prepare", "INFO"),
        ("image.upload", "INFO"),
        ("image.activate", "INFO"),
    ]
    prepare, upload_msg, activate = (m["payload"] for m in n.sent)
    assert set(prepare) == DATA_PAYLOAD
    assert prepare["os_glance_importing_to_stores"] == []
    assert prepare["os_glance_failed_import"] == []
    assert prepare["status"] == "saving"
    assert set(upload_msg) == DATA_PAYLOAD
    assert (upload_msg["status"], upload_msg["size"]) == ("active", 4)
    assert set(activate) == IMAGE_PAYLOAD


def test_upload_without_activation_sends_no_activate():
    n = notifier()
    NotifierImageRepo(RecordingRepo(), member(), n).upload(sample_image(status="saving"), None, 0)
    assert events(n) == [("image.prepare", "INFO"), ("image.upload", "INFO")]


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (errors.QuotaExceeded("The incoming image is too large"),
         "Failed to upload image data: The incoming image is too large"),
        (errors.StoreFull("Image storage media is full"),
         "Failed to upload image data: Image storage media is full"),
        (RuntimeError("/var/lib/secret"), "Failed to upload image data due to an error"),
    ],
)  # fmt: skip
def test_upload_failure_sends_an_error_with_a_string(exc, text):
    n = notifier()
    inner = RecordingRepo(upload=exc)
    with pytest.raises(type(exc)):
        NotifierImageRepo(inner, member(), n).upload(sample_image(status="saving"), None, 1)
    assert events(n) == [("image.prepare", "INFO"), ("image.upload", "ERROR")]
    assert n.sent[1]["payload"] == text


@pytest.mark.parametrize(
    ("disabled", "expected"),
    [
        (["image.upload"], ["image.prepare", "image.activate"]),
        (["image.prepare", "image.activate"], ["image.upload"]),
        (["image.*"], []),
        (["task.*"], ["image.prepare", "image.upload", "image.activate"]),
    ],
)
def test_disabled_notifications(disabled, expected):
    n = notifier(disabled_notifications=disabled)
    inner = RecordingRepo(upload=activating_upload)
    NotifierImageRepo(inner, member(), n).upload(sample_image(status="saving"), None, 1)
    assert [m["event_type"] for m in n.sent] == expected


def test_noop_driver_sends_nothing():
    n = Notifier(make_conf())
    NotifierImageRepo(RecordingRepo(), member(), n).add(sample_image())
    assert n.sent == []


def test_factory_is_silent():
    n = notifier()
    inner = RecordingFactory()
    image = NotifierImageFactory(inner, member()).new_image("p", name="x")
    assert inner.only("new_image").kwargs == {"name": "x"}
    assert image.name == "x"
    assert n.sent == []
