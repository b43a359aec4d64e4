"""``[DEFAULT]`` options of the HTTP server: where imgreg-api listens, its processes and
threads, and the limits it puts on client connections and requests."""

from __future__ import annotations

from oslo_config import cfg

server_opts = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1", help="Address imgreg-api listens on."),
    cfg.PortOpt("bind_port", default=9292, help="Port imgreg-api listens on."),
    cfg.IntOpt("workers", default=2, min=1, help="Worker processes of imgreg-api."),
    cfg.IntOpt(
        "threads",
        default=8,
        min=1,
        help="Threads per worker; a slow client ties up one thread, not a whole worker.",
    ),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=1,
        help="Seconds a client connection may stay silent (no byte read or written) before "
        "the server drops it; an upload cut this way is rolled back.",
    ),
    cfg.IntOpt(
        "client_header_timeout",
        default=60,
        min=1,
        help="Seconds a client has to send a request's line and headers, from the moment it "
        "connects (on a kept-alive connection, from the request's first byte); one that is "
        "silent or drips them more slowly is disconnected. Until its headers are complete a "
        "connection holds no request thread.",
    ),
    cfg.IntOpt(
        "client_body_timeout",
        default=60,
        min=1,
        help="Seconds a request body (an upload) may stay silent before the server drops the "
        "connection and rolls the upload back (nginx's name for the same limit); at most "
        "client_socket_timeout. A request waiting for body bytes holds a thread but none of "
        "the 'threads' slots other requests run in.",
    ),
    cfg.IntOpt(
        "worker_connections",
        default=2048,
        min=16,
        help="Most client connections one worker process holds at once (idle, sending their "
        "headers, or being served); past it the worker stops accepting until one closes. "
        "Lowered at start-up to fit the open-file limit, whose soft value imgreg-api raises "
        "to the hard one.",
    ),
    cfg.IntOpt(
        "keepalive_timeout",
        default=75,
        min=0,
        help="Seconds an idle kept-alive connection waits for its next request (it holds no "
        "thread meanwhile); 0 closes every connection after one response.",
    ),
    cfg.FloatOpt(
        "keepalive_linger",
        default=0.005,
        min=0,
        max=1,
        help="Seconds a request thread waits, holding none of the 'threads' slots, for the "
        "next request on the kept-alive connection it has just answered; one whose head "
        "arrives whole in that time is served by the same thread, without the trip through "
        "the worker's event loop (which costs more CPU than a small GET). 0 hands every "
        "connection back to the event loop at once.",
    ),
    cfg.IntOpt(
        "max_request_line",
        default=8190,
        min=64,
        max=8190,
        help="Longest request line (method, path and query) in bytes; longer ones get 414.",
    ),
    cfg.IntOpt(
        "max_header_line",
        default=16384,
        min=256,
        help="Longest request header line in bytes (a Keystone token fits in 16 KiB); longer "
        "ones get 431.",
    ),
    cfg.IntOpt(
        "max_header_count",
        default=100,
        min=10,
        max=32768,
        help="Most header lines in one request; more get 431.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=1048576,
        min=1024,
        help="Largest JSON request body in bytes (every body except image data); larger ones "
        "get 413 before they are read.",
    ),
    cfg.StrOpt(
        "state_path",
        default="var",
        help="Directory for the embedded defaults (SQLite file, filesystem store, drain file); "
        "relative paths are taken from the directory imgreg-api runs in.",
    ),
    cfg.StrOpt(
        "public_endpoint",
        help="Base URL advertised in the versions document and Location headers; the "
        "request's host URL when unset.",
    ),
    cfg.IntOpt("max_request_id_length", default=64, min=1, help="Longest accepted request id."),
]
