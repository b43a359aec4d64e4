"""Notifications: which events, in which order, with which payloads (glance-api.md §4.3).

An upload keeps Glance's sequence: its start (the image saved ``saving``) sends image.update
and image.prepare, the data image.upload (at ERROR if it fails) and image.activate, the commit
image.update, and an abort image.update when it took the image back to ``queued``."""

from __future__ import annotations

import io

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.layers.notifier import NotifierImageFactory, NotifierImageRepo
from imgreg.services.messaging import Notifier
from tests.support.builders import make_conf, make_image, member
from tests.unit.layers.recording import RecordingFactory, RecordingRepo, RecordingSession

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


def activating(image):
    """The inner session of an upload whose write activates ``image`` with the data's size."""

    def write(stream, size):
        image.status = "active"
        image.size = size
        return image

    return RecordingSession(image, write=write)


def begin(n, session, terms=None):
    """``NotifierImageRepo.begin_upload`` over an inner repo that returns ``session``."""
    inner = RecordingRepo(begin_upload=lambda image, terms: session)
    return NotifierImageRepo(inner, member(), n).begin_upload(session.image, terms or UploadTerms())


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
    image = sample_image(status="saving")
    inner = activating(image)
    activate = inner.results["write"]
    seen = []

    def write(stream, size):
        seen.append(events(n))
        return activate(stream, size)

    inner.results["write"] = write
    terms = UploadTerms(size_cap=10)
    repo = RecordingRepo(begin_upload=lambda image, terms: inner)
    upload = NotifierImageRepo(repo, member(), n).begin_upload(image, terms)
    assert repo.only("begin_upload").args == (image, terms)
    assert events(n) == [("image.update", "INFO"), ("image.prepare", "INFO")]
    stream = io.BytesIO(b"1234")
    assert upload.write(stream, 4) is image
    # the image saved saving, then prepare: both out before any data moves
    assert seen == [[("image.update", "INFO"), ("image.prepare", "INFO")]]
    assert inner.only("write").args == (stream, 4)
    assert upload.commit() is image
    assert events(n) == [
        ("image.update", "INFO"),
        ("image.prepare", "INFO"),
        ("image.upload", "INFO"),
        ("image.activate", "INFO"),
        ("image.update", "INFO"),
    ]
    saved, prepare, upload_msg, activate, committed = (m["payload"] for m in n.sent)
    assert set(saved) == IMAGE_PAYLOAD
    assert saved["status"] == "saving"
    assert set(prepare) == DATA_PAYLOAD
    assert prepare["os_glance_importing_to_stores"] == []
    assert prepare["os_glance_failed_import"] == []
    assert prepare["status"] == "saving"
    assert set(upload_msg) == DATA_PAYLOAD
    assert (upload_msg["status"], upload_msg["size"]) == ("active", 4)
    assert set(activate) == IMAGE_PAYLOAD
    assert set(committed) == IMAGE_PAYLOAD
    assert (committed["status"], committed["size"]) == ("active", 4)


def test_nothing_is_sent_when_the_upload_cannot_begin():
    n = notifier()
    inner = RecordingRepo(begin_upload=errors.Conflict("already being uploaded"))
    with pytest.raises(errors.Conflict):
        NotifierImageRepo(inner, member(), n).begin_upload(sample_image(), UploadTerms())
    assert n.sent == []


def test_upload_without_activation_sends_no_activate():
    n = notifier()
    begin(n, RecordingSession(sample_image(status="saving"))).write(None, 0)
    assert events(n) == [
        ("image.update", "INFO"),
        ("image.prepare", "INFO"),
        ("image.upload", "INFO"),
    ]


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
    upload = begin(n, RecordingSession(sample_image(status="saving"), write=exc))
    with pytest.raises(type(exc)):
        upload.write(None, 1)
    assert events(n) == [
        ("image.update", "INFO"),
        ("image.prepare", "INFO"),
        ("image.upload", "ERROR"),
    ]
    assert n.sent[2]["payload"] == text


def test_abort_that_restored_the_image_sends_update():
    n = notifier()
    image = sample_image(status="saving")
    restored = sample_image(id=image.id, status="queued")
    upload = begin(n, RecordingSession(image, write=errors.Invalid("short"), abort=restored))
    with pytest.raises(errors.Invalid):
        upload.write(None, 1)
    assert upload.abort() is restored
    assert events(n)[-2:] == [("image.upload", "ERROR"), ("image.update", "INFO")]
    assert n.sent[-1]["payload"]["status"] == "queued"


def test_abort_that_restored_nothing_is_silent():
    n = notifier()
    upload = begin(n, RecordingSession(sample_image(status="saving")))  # abort: None
    sent = len(n.sent)
    assert upload.abort() is None
    assert len(n.sent) == sent


def test_a_failed_commit_sends_no_update():
    n = notifier()
    session = activating(sample_image(status="saving"))
    session.results["commit"] = errors.Gone("deleted meanwhile")
    upload = begin(n, session)
    upload.write(None, 1)
    with pytest.raises(errors.Gone):
        upload.commit()
    assert events(n)[-1] == ("image.activate", "INFO")


@pytest.mark.parametrize(
    ("disabled", "expected"),
    [
        (["image.upload"], ["image.update", "image.prepare", "image.activate", "image.update"]),
        (["image.prepare", "image.activate"], ["image.update", "image.upload", "image.update"]),
        (["image.update"], ["image.prepare", "image.upload", "image.activate"]),
        (["image.*"], []),
        (["task.*"], ["image.update", "image.prepare", "image.upload", "image.activate",
                      "image.update"]),
    ],
)  # fmt: skip
def test_disabled_notifications(disabled, expected):
    n = notifier(disabled_notifications=disabled)
    upload = begin(n, activating(sample_image(status="saving")))
    upload.write(None, 1)
    upload.commit()
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
