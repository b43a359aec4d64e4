"""``new``: ``req-`` and a random (version 4) UUID, as Glance's request ids.

``uuid.uuid4()`` reads 16 bytes with ``os.urandom`` for each id: one ``getrandom`` system call
per request, during which the thread lets go of the GIL, and under load another request
thread may take it meanwhile. Here each thread reads ``POOL_BYTES`` of the same randomness at
once and takes 16 bytes per id: one system call per 256 ids, each id as random as
``uuid4()``'s.

A forked child starts with no pooled bytes (``os.register_at_fork``), so two processes never
hand out the same ids.
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096
ID_BYTES = 16

_local = threading.local()


def _forget() -> None:
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_forget)


def _random16() -> bytearray:
    local = _local
    pool: bytes = getattr(local, "pool", b"")
    at: int = getattr(local, "at", 0)
    if at + ID_BYTES > len(pool):
        pool, at = os.urandom(POOL_BYTES), 0
        local.pool = pool
    local.at = at + ID_BYTES
    return bytearray(pool[at : at + ID_BYTES])


def new() -> str:
    """A new request id, ``req-`` and a version 4 UUID in its usual text form."""
    raw = _random16()
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    x = raw.hex()
    return f"req-{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"
