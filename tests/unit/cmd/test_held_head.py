"""``TimedSocket`` holds gunicorn's response head back for the body that follows it (one send
instead of two) and never past a read, a ``sendfile`` or the end of the request."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator

import pytest

from imgreg.server import worker

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"


@pytest.fixture
def pair(monkeypatch) -> Iterator[tuple[worker.TimedSocket, socket.socket, list[bytes]]]:
    a, client = socket.socketpair()
    sock = worker.TimedSocket.adopt(a)
    sock.setblocking(True)
    sent: list[bytes] = []
    real = socket.socket.sendall

    def record(self, data, flags=0):
        sent.append(bytes(data))
        return real(self, data, flags)

    monkeypatch.setattr(socket.socket, "sendall", record)
    write = worker.os.write

    def record_write(fd, data):
        done = write(fd, data)
        sent.append(bytes(data[:done]))
        return done

    monkeypatch.setattr(worker.os, "write", record_write)
    sock.slots = threading.Semaphore(1)  # a request thread owns it
    yield sock, client, sent
    client.close()
    sock.close()


def test_a_head_and_its_small_body_go_in_one_send(pair) -> None:
    sock, client, sent = pair
    sock.sendall(HEAD)
    assert sent == []
    sock.sendall(b"hello")
    assert sent == [HEAD + b"hello"]
    assert client.recv(100) == HEAD + b"hello"


def test_a_large_body_follows_the_head_without_a_copy(pair) -> None:
    sock, client, sent = pair
    body = b"x" * (worker.JOIN_MAX + 1)
    sock.sendall(HEAD)
    writer = threading.Thread(target=sock.sendall, args=(body,))
    writer.start()
    got = b""
    while len(got) < len(HEAD) + len(body):
        got += client.recv(1 << 20)
    writer.join()
    assert got == HEAD + body
    assert len(sent[0]) == len(HEAD)  # then the body, in as many sends as it takes
    assert sum(len(s) for s in sent[1:]) == len(body)


def test_a_read_sends_the_held_head_first(pair) -> None:
    # a 100 Continue (or an interim 104) must be out before the thread waits for the body
    sock, client, _sent = pair
    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    client.send(b"body")
    assert sock.recv(10) == b"body"
    assert client.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_the_end_of_the_request_sends_a_head_without_a_body(pair) -> None:
    sock, client, _ = pair
    sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    sock.flush()
    assert client.recv(100) == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_sendfile_sends_the_held_head_first(pair) -> None:
    sock, client, _ = pair
    with tempfile.TemporaryFile() as f:
        f.write(b"hello")
        f.seek(0)
        sock.sendall(HEAD)
        sock.sendfile(f)
    got = b""
    while len(got) < len(HEAD) + 5:
        got += client.recv(100)
    assert got == HEAD + b"hello"


def test_nothing_is_held_outside_a_request_thread(pair) -> None:
    sock, client, sent = pair
    sock.slots = None  # the worker's main loop (a refusal written there)
    sock.sendall(HEAD)
    assert sent == [HEAD]
    assert client.recv(100) == HEAD


def test_body_bytes_are_never_held(pair) -> None:
    sock, _, sent = pair
    sock.sendall(b"no head here\r\n\r\n")
    assert sent == [b"no head here\r\n\r\n"]


def test_what_the_socket_buffer_does_not_take_at_once_follows_in_order(pair) -> None:
    sock, client, sent = pair
    body = bytes(range(256)) * 16384  # 4 MiB: more than a socket buffer holds
    writer = threading.Thread(target=sock.sendall, args=(body,))
    writer.start()
    got = bytearray()
    while len(got) < len(body):
        got += client.recv(1 << 20)
    writer.join()
    assert got == body
    assert len(sent) >= 2  # the first write took part of it, sendall the rest
