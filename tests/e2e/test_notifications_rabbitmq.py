"""Notifications on the real bus: ``imgreg-api`` (gunicorn, 2 workers) with the oslo.messaging
``messagingv2`` driver sends to the RabbitMQ on 127.0.0.1:5672, and these tests read what
arrived there (glance-api.md §4.3).

Each test has a topic of its own, so parallel runs never take each other's messages. Before the
server sends anything, a test binds one queue to ``<topic>.*`` on Glance's exchange: every
priority (``<topic>.info``, ``<topic>.error``) lands in that one queue, in the order sent.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import kombu
import oslo_messaging
import pytest
import requests
from oslo_config import cfg

# tools/test's first pass only (SQLite, ``first_pass``): what is sent is built from the image the
# app saved, tested on every engine by tests/functional/test_notifications.py; here the bus itself
pytestmark = pytest.mark.first_pass

BROKER = ("127.0.0.1", 5672)
TRANSPORT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
EXCHANGE = "glance"  # control_exchange: Glance's, so Glance's consumers hear imgreg
WAIT = 15.0  # seconds for the expected messages to arrive
QUIET = 1.0  # seconds of silence that show nothing more was sent

IMAGE_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "min_disk", "min_ram", "protected",
    "checksum", "owner", "disk_format", "container_format", "size", "virtual_size", "is_public",
    "visibility", "properties", "tags", "deleted", "deleted_at",
}  # fmt: skip
DATA_KEYS = IMAGE_KEYS | {"os_glance_importing_to_stores", "os_glance_failed_import"}
MEMBER_KEYS = {"image_id", "member_id", "status", "created_at", "updated_at", "deleted",
               "deleted_at"}  # fmt: skip
ENVELOPE_KEYS = {"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"}
DATA = b"on the bus " * 1000
OWNER = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1", "X-User-Id": "u1",
         "X-Roles": "member,reader"}  # fmt: skip
MEMBER = {**OWNER, "X-Project-Id": "p2", "X-User-Id": "u2"}


class Bus:
    """One queue bound to every priority of one topic; ``take`` returns the decoded messages
    (the oslo.messaging v2 envelope opened) with the routing key each came with."""

    def __init__(self, connection: kombu.Connection, topic: str) -> None:
        self.connection = connection
        self.topic = topic
        self.received: list[dict[str, Any]] = []
        exchange = kombu.Exchange(EXCHANGE, type="topic", durable=False)
        self.queue = kombu.Queue(
            f"{topic}.test-listener", exchange, routing_key=f"{topic}.*", auto_delete=True
        )
        self.consumer = kombu.Consumer(connection, [self.queue], callbacks=[self._on_message])
        self.consumer.consume()

    def _on_message(self, body: dict[str, Any], message: kombu.Message) -> None:
        assert body["oslo.version"] == "2.0"
        decoded = json.loads(body["oslo.message"])
        decoded.pop("_unique_id")  # the rabbit driver's; oslo.messaging's listener drops it
        decoded["routing_key"] = message.delivery_info["routing_key"]
        self.received.append(decoded)
        message.ack()

    def _drain(self, until: float) -> None:
        with contextlib.suppress(TimeoutError, socket.timeout):
            self.connection.drain_events(timeout=max(0.01, until - time.monotonic()))

    def take(self, count: int) -> list[dict[str, Any]]:
        """Exactly ``count`` messages: fails if fewer arrive within WAIT, or more follow."""
        deadline = time.monotonic() + WAIT
        while len(self.received) < count and time.monotonic() < deadline:
            self._drain(deadline)
        quiet_until = time.monotonic() + QUIET
        while time.monotonic() < quiet_until:
            self._drain(quiet_until)
        taken, self.received = self.received, []
        assert len(taken) == count, [(m["event_type"], m["priority"]) for m in taken]
        return taken


@pytest.fixture
def topic() -> str:
    return f"imgreg-test-{uuid.uuid4().hex}"


@pytest.fixture
def extra_options() -> dict[str, object]:
    """More server options; a test parametrizes this."""
    return {}


@pytest.fixture
def server_options(topic: str, extra_options: dict[str, object]) -> dict[str, object]:
    return {
        "oslo_messaging_notifications.driver": "messagingv2",
        "oslo_messaging_notifications.transport_url": TRANSPORT_URL,
        "oslo_messaging_notifications.topics": topic,
        **extra_options,
    }


@pytest.fixture
def bus(topic: str) -> Iterator[Bus]:
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as exc:
        pytest.fail(f"RabbitMQ is not up on {BROKER} ({exc}); `tools/services rabbitmq` starts it")
    with kombu.Connection("amqp://guest:guest@127.0.0.1:5672//", connect_timeout=5) as connection:
        yield Bus(connection, topic)
        # the queues oslo.messaging declares for each priority outlive its connections
        channel = connection.default_channel
        for priority in ("info", "error"):
            with contextlib.suppress(Exception):
                channel.queue_delete(f"{topic}.{priority}")


def call(server, method: str, path: str, expect: int, headers=None, **kw: Any) -> Any:
    resp = requests.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kw)
    assert resp.status_code == expect, resp.text
    return resp.json() if expect in (200, 201) else None


def create(server, headers=None, **body: Any) -> dict[str, Any]:
    body = {"disk_format": "raw", "container_format": "bare", **body}
    return call(server, "POST", "/v2/images", 201, headers, json=body)


def upload(server, image_id: str, data: bytes, expect: int = 204) -> None:
    headers = {"Content-Type": "application/octet-stream"}
    call(server, "PUT", f"/v2/images/{image_id}/file", expect, headers, data=data)


def events(messages: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(event_type, priority, image status) of each message."""
    return [
        (m["event_type"], m["priority"],
         m["payload"].get("status") if isinstance(m["payload"], dict) else None)
        for m in messages
    ]  # fmt: skip


def test_create_upload_update_delete(server, bus):
    image = create(server, name="bus", os_distro="debian", tags=["t"])
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    upload(server, image["id"], DATA)
    call(server, "PATCH", f"/v2/images/{image['id']}", 200,
         {"Content-Type": "application/openstack-images-v2.1-json-patch"}, json=patch)  # fmt: skip
    call(server, "DELETE", f"/v2/images/{image['id']}", 204)

    messages = bus.take(8)
    assert events(messages) == [
        ("image.create", "INFO", "queued"),
        ("image.update", "INFO", "saving"),
        ("image.prepare", "INFO", "saving"),
        ("image.upload", "INFO", "active"),
        ("image.activate", "INFO", "active"),
        ("image.update", "INFO", "active"),
        ("image.update", "INFO", "active"),
        ("image.delete", "INFO", "deleted"),
    ]
    for m in messages:
        assert set(m) == ENVELOPE_KEYS | {"routing_key"}
        assert m["publisher_id"] == "image.localhost"
        assert m["routing_key"] == f"{bus.topic}.info"
        assert m["payload"]["id"] == image["id"]
    assert len({m["message_id"] for m in messages}) == 8
    create_, saving, prepare, uploaded, activate, active, renamed, deleted = (
        m["payload"] for m in messages
    )
    assert create_ == {
        "id": image["id"], "name": "bus", "status": "queued",
        "created_at": image["created_at"], "updated_at": image["updated_at"],
        "min_disk": 0, "min_ram": 0, "protected": False, "checksum": None, "owner": None,
        "disk_format": "raw", "container_format": "bare", "size": None, "virtual_size": None,
        "is_public": False, "visibility": "shared", "properties": {"os_distro": "debian"},
        "tags": ["t"], "deleted": False, "deleted_at": None,
    }  # fmt: skip
    for payload in (saving, activate, active, renamed, deleted):
        assert set(payload) == IMAGE_KEYS
    assert set(prepare) == set(uploaded) == DATA_KEYS
    assert prepare["os_glance_importing_to_stores"] == prepare["os_glance_failed_import"] == []
    assert (saving["size"], saving["checksum"]) == (None, None)
    checksum = hashlib.md5(DATA).hexdigest()
    for payload in (uploaded, activate, active, renamed):
        assert (payload["size"], payload["checksum"]) == (len(DATA), checksum)
    assert renamed["name"] == "renamed"
    assert (deleted["name"], deleted["deleted"]) == ("renamed", True)
    assert deleted["deleted_at"].endswith("Z")


@pytest.mark.parametrize("extra_options", [{"image_size_cap": 1024}])
def test_failed_upload(server, bus):
    image = create(server, name="too big")
    upload(server, image["id"], b"x" * 2048, expect=413)

    messages = bus.take(5)
    assert events(messages) == [
        ("image.create", "INFO", "queued"),
        ("image.update", "INFO", "saving"),
        ("image.prepare", "INFO", "saving"),
        ("image.upload", "ERROR", None),
        ("image.update", "INFO", "queued"),
    ]
    error = messages[3]
    assert error["routing_key"] == f"{bus.topic}.error"
    assert isinstance(error["payload"], str)
    assert error["payload"].startswith("Failed to upload image data")
    assert "too large" in error["payload"]
    queued = messages[4]["payload"]
    assert (queued["size"], queued["checksum"]) == (None, None)


def test_member_events(server, bus):
    image = create(server, OWNER, visibility="shared")
    members = f"/v2/images/{image['id']}/members"
    added = call(server, "POST", members, 200, OWNER, json={"member": "p2"})
    call(server, "PUT", f"{members}/p2", 200, MEMBER, json={"status": "accepted"})
    call(server, "DELETE", f"{members}/p2", 204, OWNER)

    messages = bus.take(4)
    assert [(m["event_type"], m["priority"]) for m in messages] == [
        ("image.create", "INFO"),
        ("image.member.create", "INFO"),
        ("image.member.update", "INFO"),
        ("image.member.delete", "INFO"),
    ]
    created, updated, deleted = (m["payload"] for m in messages[1:])
    assert created == {
        "image_id": image["id"], "member_id": "p2", "status": "pending",
        "created_at": added["created_at"], "updated_at": added["updated_at"],
        "deleted": False, "deleted_at": None,
    }  # fmt: skip
    assert set(updated) == set(deleted) == MEMBER_KEYS
    assert updated["status"] == "accepted"
    assert (deleted["status"], deleted["deleted"]) == ("accepted", True)
    assert deleted["deleted_at"] is not None


def test_tag_events(server, bus):
    """Glance saves the image for each tag PUT (a tag it has too) and DELETE: image.update.
    Refused (a reader's) and missing (404) ones send nothing."""
    image = create(server, OWNER, name="tagged", tags=["a"])
    tags = f"/v2/images/{image['id']}/tags"
    call(server, "PUT", f"{tags}/b", 204, OWNER)
    call(server, "PUT", f"{tags}/b", 204, OWNER)
    call(server, "PUT", f"{tags}/c", 403, {**OWNER, "X-Roles": "reader"})
    call(server, "DELETE", f"{tags}/a", 204, OWNER)
    call(server, "DELETE", f"{tags}/a", 404, OWNER)

    messages = bus.take(4)
    assert events(messages) == [
        ("image.create", "INFO", "queued"),
        ("image.update", "INFO", "queued"),
        ("image.update", "INFO", "queued"),
        ("image.update", "INFO", "queued"),
    ]
    assert [m["payload"]["tags"] for m in messages] == [["a"], ["a", "b"], ["a", "b"], ["b"]]
    for m in messages:
        assert m["routing_key"] == f"{bus.topic}.info"
        assert set(m["payload"]) == IMAGE_KEYS
        assert (m["payload"]["id"], m["payload"]["owner"]) == (image["id"], "p1")


@pytest.mark.parametrize(
    "extra_options", [{"disabled_notifications": "image.update,image.member.*"}]
)
def test_disabled_notifications_are_not_sent(server, bus):
    """An exact type (image.update) and a pattern (image.member.*)."""
    image = create(server, OWNER, visibility="shared")
    upload(server, image["id"], DATA)
    members = f"/v2/images/{image['id']}/members"
    call(server, "POST", members, 200, OWNER, json={"member": "p2"})
    call(server, "PUT", f"{members}/p2", 200, MEMBER, json={"status": "accepted"})
    call(server, "DELETE", f"/v2/images/{image['id']}", 204, OWNER)

    assert [m["event_type"] for m in bus.take(5)] == [
        "image.create",
        "image.prepare",
        "image.upload",
        "image.activate",
        "image.delete",
    ]


@pytest.mark.parametrize("extra_options", [{"disabled_notifications": "image"}])
def test_a_disabled_group_sends_nothing(server, bus):
    """Glance's group form: ``image`` silences image.* and image.member.*."""
    image = create(server, OWNER, visibility="shared")
    upload(server, image["id"], DATA)
    call(server, "POST", f"/v2/images/{image['id']}/members", 200, OWNER, json={"member": "p2"})
    bus.take(0)


class Endpoint:
    """What a Glance consumer (Ceilometer, an indexer) implements: one method per priority."""

    def __init__(self) -> None:
        self.heard: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata) -> None:
        self.heard.put((publisher_id, event_type, payload, metadata))


def test_oslo_messaging_listener_hears_it(server, bus, topic):
    """oslo.messaging's own notification listener, on Glance's exchange, decodes what imgreg
    sends (the rest of this module reads the raw AMQP messages)."""
    conf = cfg.ConfigOpts()
    conf([])
    transport = oslo_messaging.get_notification_transport(conf, url=TRANSPORT_URL)
    endpoint = Endpoint()
    target = oslo_messaging.Target(topic=topic, exchange=EXCHANGE)
    listener = oslo_messaging.get_notification_listener(
        transport, [target], [endpoint], executor="threading"
    )
    listener.start()
    try:
        image = create(server, name="heard")
        publisher_id, event_type, payload, metadata = endpoint.heard.get(timeout=WAIT)
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
    assert (publisher_id, event_type) == ("image.localhost", "image.create")
    assert (payload["id"], payload["name"], payload["status"]) == (image["id"], "heard", "queued")
    assert set(metadata) == {"message_id", "timestamp"}
    assert [m["event_type"] for m in bus.take(1)] == ["image.create"]
