"""web-download's filtering and fetch, against real local servers (127.0.0.1 and 127.0.0.2).

Every refused URI is checked twice, by ``check_uri`` and by ``open_uri``, and the servers'
request counts show that nothing was sent. Names other than ``localhost`` are answered by a
fake ``socket.getaddrinfo``; no test needs a network.
"""

from __future__ import annotations

import collections
import re
import socket
import time
import tracemalloc
import urllib.parse
from typing import Any

import pytest
from oslo_config import cfg

from imgreg.domain import errors
from imgreg.importing import web
from imgreg.importing.addresses import Refused, normalise_host
from tests.support.builders import make_conf
from tests.support.webserver import BODY, STALL, CountingServer

SECRET = "s3cret-pw"


def conf_for(**options: Any) -> cfg.ConfigOpts:
    return make_conf(**{f"import_filtering_opts__{name}": v for name, v in options.items()})


def local(*servers: CountingServer, **options: Any) -> cfg.ConfigOpts:
    """Private addresses allowed and the servers' ports open: only what a test sets refuses."""
    options.setdefault("allow_private_addresses", True)
    options.setdefault("allowed_ports", [str(s.port) for s in servers])
    return conf_for(**options)


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> Any:
    """Answer the names in ``answers`` (the n-th lookup gets the n-th list, the last one
    repeating; an empty list does not resolve); count the lookups per name."""
    real = socket.getaddrinfo
    lookups: collections.Counter[str] = collections.Counter()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups[host] += 1
        addresses = answers[host][min(lookups[host], len(answers[host])) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def assert_refused(uri: str, conf: cfg.ConfigOpts, reason: str, *servers: CountingServer) -> None:
    for call in (web.check_uri, web.open_uri):
        with pytest.raises(errors.Invalid) as caught:
            call(uri, conf)
        assert caught.value.message.startswith(web.REFUSED)
        assert reason in caught.value.message
        assert SECRET not in caught.value.message
    assert [s.total for s in servers] == [0] * len(servers)


def redirect(server: CountingServer, to: str) -> str:
    return server.url("/redirect?to=" + urllib.parse.quote(to, safe=""))


def test_fetch_returns_the_exact_bytes_and_size(server: CountingServer) -> None:
    conf = local(server)
    web.check_uri(server.url(), conf)
    with web.open_uri(server.url(), conf) as source:
        assert source.size == len(BODY)
        assert source.read(7) == BODY[:7]
        assert source.read() == BODY[7:]
        assert source.read(10) == b""
    assert server.counts == {"/body": 1}
    assert server.hosts == [f"127.0.0.1:{server.port}"]


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "0x7F.0.0.1",
    "0177.0.0.1",
    "127.1",
    "[::ffff:127.0.0.1]",
    "127.0.0.1.",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_in_any_spelling_is_refused(server: CountingServer, host: str) -> None:
    conf = conf_for(allowed_ports=[str(server.port)])
    uri = f"http://{host}:{server.port}/body"
    assert_refused(uri, conf, "host 127.0.0.1 is a loopback address", server)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://[::1]:{port}/body", "host ::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "host 169.254.169.254 is a link-local"),
        ("http://[fe80::1%25eth0]/", "IPv6 zone ids are not allowed"),
        ("http://[fe80::1]/", "host fe80::1 is a link-local address"),
        ("http://0.0.0.0:{port}/body", "host 0.0.0.0 is an unspecified address"),
        ("http://0:{port}/body", "host 0.0.0.0 is an unspecified address"),
        ("http://10.1.2.3/", "host 10.1.2.3 is a private address"),
        ("http://100.64.0.1/", "host 100.64.0.1 is not a global address"),
        ("http://[64:ff9b::7f00:1]/", "is a loopback address"),
        ("http://[2002:7f00:1::]/", "is a loopback address"),
        ("http://localhost:{port}/body", "host localhost resolves to"),
        ("http://1.2.3.4.5/", "host 1.2.3.4.5 is not a valid address"),
        ("http://08.0.0.1/", "host 08.0.0.1 is not a valid address"),
        ("http://", "it has no host"),
        ("http://[::1/", "it is not a valid URI"),
        ("http://127.0.0.1:99999/", "it is not a valid URI"),
        ("ftp://127.0.0.1:{port}/body", "scheme ftp is not allowed"),
        ("file:///etc/passwd", "scheme file is not allowed"),
        ("gopher://127.0.0.1:{port}/_", "scheme gopher is not allowed"),
        ("/body", "scheme (none) is not allowed"),
        (f"http://user:{SECRET}@127.0.0.1:{{port}}/body", "credentials"),
        (f"http://{SECRET}@127.0.0.1:{{port}}/body", "credentials"),
        ("http://127.0.0.1:{port}/body#part", "fragments are not allowed"),
        ("http://127.0.0.1:{port}/body#", "fragments are not allowed"),
    ],
)
def test_refused_with_private_addresses_off(server: CountingServer, uri: str, reason: str) -> None:
    conf = conf_for(allowed_ports=[str(server.port), "80"])
    assert_refused(uri.format(port=server.port), conf, reason, server)


def test_localhost_is_refused_for_its_loopback_address(server: CountingServer) -> None:
    conf = conf_for(allowed_ports=[str(server.port)])
    with pytest.raises(errors.Invalid, match=r"host localhost resolves to .*, a loopback address"):
        web.check_uri(server.url().replace("127.0.0.1", "localhost"), conf)


@pytest.mark.parametrize(
    ("uri", "options", "reason"),
    [
        ("http://127.0.0.1:{port}/body", {"allowed_ports": ["80", "443"]}, "port {port} is not"),
        ("http://127.0.0.1/body", {"allowed_ports": [], "disallowed_ports": ["80"]}, "port 80"),
        ("http://127.0.0.1:{port}/", {"allowed_ports": [], "disallowed_ports": ["{port}"]}, "port"),
        ("ftp://127.0.0.1:{port}/", {"allowed_schemes": ["ftp", "http"]}, "scheme ftp is not"),
        ("http://127.0.0.1:{port}/", {"allowed_schemes": ["https"]}, "scheme http is not"),
        (
            "HTTP://127.0.0.1:{port}/",
            {"allowed_schemes": [], "disallowed_schemes": ["http"]},
            "scheme http is not",
        ),
        ("http://2130706433:{port}/", {"disallowed_hosts": ["127.0.0.1"]}, "host 127.0.0.1 is not"),
        ("http://127.0.0.1:{port}/", {"disallowed_hosts": ["0x7f.1"]}, "host 127.0.0.1 is not"),
        ("http://[::1]:{port}/", {"disallowed_hosts": ["[::1]"]}, "host ::1 is not allowed"),
        ("http://127.0.0.1:{port}/", {"allowed_hosts": ["192.0.2.10"]}, "host 127.0.0.1 is not"),
        ("http://0.0.0.0:{port}/", {}, "host 0.0.0.0 is an unspecified address"),
    ],
)
def test_refused_by_the_lists(
    server: CountingServer, uri: str, options: dict[str, Any], reason: str
) -> None:
    for name in ("allowed_ports", "disallowed_ports"):
        if name in options:
            options[name] = [p.format(port=server.port) for p in options[name]]
    conf = local(server, **options)
    assert_refused(uri.format(port=server.port), conf, reason.format(port=server.port), server)


def test_an_allow_list_wins_over_the_deny_list(server: CountingServer) -> None:
    conf = local(server, allowed_hosts=["127.0.0.1"], disallowed_hosts=["127.0.0.1"])
    web.check_uri(server.url(), conf)
    conf = local(server, disallowed_ports=[str(server.port)], disallowed_schemes=["http"])
    web.check_uri(server.url(), conf)


def test_empty_lists_allow_all_but_the_denied(server: CountingServer) -> None:
    conf = local(server, allowed_ports=[], allowed_schemes=[], disallowed_ports=["22"])
    web.check_uri(server.url(), conf)
    web.check_uri("http://127.0.0.1:8080/", conf)
    with pytest.raises(errors.Invalid, match="port 22 is not allowed"):
        web.check_uri("http://127.0.0.1:22/", conf)


def test_global_addresses_pass_without_a_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups = fake_dns(monkeypatch, {})
    for uri in ("http://93.184.216.34/x.img", "https://[2606:4700::1111]/x?y=1", "http://1.1/"):
        web.check_uri(uri, conf_for())
    assert lookups == {}


def test_a_name_is_refused_if_any_address_is(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(
        monkeypatch,
        {"intranet.example": [["10.0.0.1"]], "mixed.example": [["93.184.216.34", "10.0.0.1"]]},
    )
    conf = conf_for()
    reason = "host intranet.example resolves to 10.0.0.1, a private address"
    assert_refused("http://intranet.example/", conf, reason, server)
    reason = "host mixed.example resolves to 10.0.0.1, a private address"
    assert_refused("http://mixed.example/", conf, reason, server)


def test_a_name_is_refused_if_an_address_is_denied(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"images.example": [["127.0.0.1"]]})
    conf = local(server, disallowed_hosts=["2130706433"])
    uri = f"http://images.example:{server.port}/body"
    assert_refused(uri, conf, "resolves to 127.0.0.1, which is not allowed", server)


def test_a_name_that_does_not_resolve_is_refused(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"nowhere.example": [[]]})
    assert_refused("http://nowhere.example/", conf_for(), "host nowhere.example does not", server)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/body",
        "http://2130706434:{port}/body",
        "http://0x7f000002:{port}/body",
        "http://[::ffff:127.0.0.2]:{port}/body",
    ],
)
def test_a_redirect_to_a_refused_host_is_not_followed(
    server: CountingServer, other_address: CountingServer, target: str
) -> None:
    conf = local(server, other_address, allowed_hosts=["127.0.0.1"])
    to = target.format(port=other_address.port)
    with pytest.raises(web.FetchFailed, match=re.escape("host 127.0.0.2 is not allowed")):
        web.open_uri(redirect(server, to), conf)
    assert server.counts == {"/redirect": 1}
    assert other_address.total == 0


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{other}/body", "port {other} is not allowed"),
        ("ftp://127.0.0.1:{port}/body", "scheme ftp is not allowed"),
        (f"http://u:{SECRET}@127.0.0.1:{{port}}/body", "credentials in the URI are not allowed"),
    ],
)
def test_a_redirect_to_a_refused_uri_is_not_followed(
    server: CountingServer, other: CountingServer, target: str, reason: str
) -> None:
    conf = local(server)
    to = target.format(port=server.port, other=other.port)
    with pytest.raises(web.FetchFailed) as caught:
        web.open_uri(redirect(server, to), conf)
    assert reason.format(other=other.port) in caught.value.message
    assert SECRET not in caught.value.message
    assert server.counts == {"/redirect": 1}
    assert other.total == 0


def test_an_allowed_redirect_is_followed(server: CountingServer, other: CountingServer) -> None:
    with web.open_uri(redirect(server, other.url()), local(server, other)) as source:
        assert source.read() == BODY
    assert server.counts == {"/redirect": 1}
    assert other.counts == {"/body": 1}


def test_headers_go_to_the_first_origin_only(server: CountingServer, other: CountingServer) -> None:
    """A token sent with the request: kept along a redirect on the same origin, dropped at a
    redirect to another port, and not sent again when a later hop comes back."""
    back = f"{other.url('/redirect')}?to={urllib.parse.quote(server.url('/chain/1'))}"
    uri = f"{server.url('/chain/1')}"
    conf = local(server, other)
    with web.open_uri(uri, conf, headers={"X-Auth-Token": SECRET}) as source:
        assert source.read() == BODY
    assert server.tokens == {"/chain/1": [SECRET], "/body": [SECRET]}
    with web.open_uri(redirect(server, back), conf, headers={"X-Auth-Token": "t2"}) as source:
        assert source.read() == BODY
    assert server.tokens["/redirect"] == ["t2"]
    assert other.tokens == {"/redirect": [None]}
    assert server.tokens["/chain/1"] == [SECRET, None]
    assert server.tokens["/body"] == [SECRET, None]


def test_a_refused_first_uri_says_the_callers_prefix(server: CountingServer) -> None:
    with pytest.raises(errors.Invalid, match=r"^Other: port 1 is not allowed"):
        web.open_uri("http://127.0.0.1:1/x", local(server), refused="Other: ")
    assert server.total == 0


def test_relative_redirects_are_followed_up_to_max_redirects(server: CountingServer) -> None:
    conf = local(server, max_redirects=2)
    with web.open_uri(server.url("/chain/2"), conf) as source:
        assert source.read() == BODY
    assert server.counts == {"/chain/2": 1, "/chain/1": 1, "/body": 1}


@pytest.mark.parametrize(("max_redirects", "start"), [(2, 3), (0, 1)])
def test_more_redirects_than_max_redirects_fail(
    server: CountingServer, max_redirects: int, start: int
) -> None:
    conf = local(server, max_redirects=max_redirects)
    with pytest.raises(web.FetchFailed, match=f"more than {max_redirects} redirects"):
        web.open_uri(server.url(f"/chain/{start}"), conf)
    assert server.counts["/body"] == 0
    assert server.total == max_redirects + 1


def test_an_error_status_fails(server: CountingServer) -> None:
    with pytest.raises(web.FetchFailed, match="answered HTTP 404"):
        web.open_uri(server.url("/missing"), local(server))


def test_a_refused_connection_fails() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    conf = conf_for(allow_private_addresses=True, allowed_ports=[str(port)])
    with pytest.raises(web.FetchFailed, match=f"cannot connect to host 127.0.0.1 port {port}"):
        web.open_uri(f"http://127.0.0.1:{port}/", conf)


def test_https_to_a_plain_http_server_fails(server: CountingServer) -> None:
    with pytest.raises(web.FetchFailed, match=re.escape("cannot connect to host 127.0.0.1")):
        web.open_uri(server.url().replace("http:", "https:"), local(server))


def test_dns_rebinding_cannot_move_the_connection(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = fake_dns(monkeypatch, {"rebind.example": [["127.0.0.1"], ["127.0.0.2"]]})
    conf = local(server, disallowed_hosts=["127.0.0.2"])
    with web.open_uri(f"http://rebind.example:{server.port}/body", conf) as source:
        assert source.read() == BODY
    assert lookups == {"rebind.example": 1}
    assert server.hosts == [f"rebind.example:{server.port}"]


def test_the_fetch_resolves_and_checks_again(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = fake_dns(monkeypatch, {"rebind.example": [["127.0.0.1"], ["127.0.0.2"]]})
    conf = local(server, disallowed_hosts=["127.0.0.2"])
    uri = f"http://rebind.example:{server.port}/body"
    web.check_uri(uri, conf)
    with pytest.raises(
        errors.Invalid, match=re.escape("resolves to 127.0.0.2, which is not allowed")
    ):
        web.open_uri(uri, conf)
    assert lookups == {"rebind.example": 2}
    assert server.total == 0


@pytest.mark.parametrize("path", ["/slow-head", "/slow-body"])
def test_a_stalled_server_fails_after_read_timeout(server: CountingServer, path: str) -> None:
    conf = local(server, read_timeout=0.5)
    started = time.monotonic()
    with (
        pytest.raises(web.FetchFailed, match="timed out"),
        web.open_uri(server.url(path), conf) as s,
    ):
        s.read()
    assert time.monotonic() - started < STALL - 1


def test_a_large_body_streams_in_bounded_memory(server: CountingServer) -> None:
    mib = 8
    tracemalloc.start()
    try:
        total = 0
        with web.open_uri(server.url(f"/big/{mib}"), local(server)) as source:
            assert source.size == mib << 20
            while chunk := source.read(64 << 10):
                assert len(chunk) <= 64 << 10
                total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == mib << 20
    assert peak < 2 << 20


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        ("Example.COM.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("::FFFF:7f00:1", "127.0.0.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("1.2.3.a", "1.2.3.a"),
    ],
)
def test_hosts_are_normalised(host: str, normal: str) -> None:
    assert str(normalise_host(host)) == normal


@pytest.mark.parametrize("host", ["", "a b", "a..b", "x%0d", "fe80::1%eth0", "1:2:3"])
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(Refused):
        normalise_host(host)
