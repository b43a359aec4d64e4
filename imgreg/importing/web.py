"""web-download: which URIs an import may fetch (``[import_filtering_opts]``), and the fetch.
glance-download's requests to another region's image service go through here as well, with
the caller's token in ``headers``, which only the first URI's origin ever gets.

The rules are Glance's (``validate_import_uri``): for schemes, hosts and ports alike a non-empty
allow-list wins and the deny-list is then ignored; an empty allow-list lets through everything
not denied. On top of them, as the fixes of OSSA-2026-004 / OSSN-0105 ask:

* only http and https, never with credentials or a fragment in the URI;
* numeric hosts in every spelling are normalised before the host lists see them, and an
  address that is not global is refused unless ``allow_private_addresses`` is set;
* a name is resolved and refused if any of its addresses is refused;
* every redirect is a new hop, checked like the first, and followed by hand;
* each hop connects to the address that was checked, never to a second DNS answer, so a name
  that re-resolves elsewhere (DNS rebinding) cannot move the connection. Host header, SNI and
  the certificate check still use the name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from types import TracebackType

from oslo_config import cfg

from imgreg.domain import errors
from imgreg.importing.addresses import IPAddress, Refused, normalise_host, refusal, resolve

REFUSED = "URI for web-download does not pass filtering: "
_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HEADERS = {"Accept": "*/*", "User-Agent": "imgreg-web-download"}


class FetchFailed(errors.ImgregError):
    """A URI that passed filtering could not be fetched: no connection, a timeout, an HTTP
    error status, too many redirects or a redirect to a refused URI. The message names the
    host, never the URI's path or query; the import task records it."""


@dataclass(frozen=True)
class _Hop:
    """One checked request: where it goes (``addresses``) and what it asks for."""

    scheme: str
    host: str  # a lower-case name or an address's text; the Host header and SNI
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[IPAddress, ...]


def check_uri(uri: str, conf: cfg.ConfigOpts) -> None:
    """Refuse (``errors.Invalid``) a URI web-download may not fetch; names are resolved."""
    _first_hop(uri, conf)


def open_uri(
    uri: str,
    conf: cfg.ConfigOpts,
    headers: dict[str, str] | None = None,
    refused: str = REFUSED,
) -> WebSource:
    """GET ``uri``, following up to ``max_redirects`` redirects, each checked like ``uri``.

    ``headers`` (a token, say) go with the request to ``uri``'s origin (scheme, host, port)
    only: from the first redirect to another origin on they are left out, also on any later
    hop back. Raises ``errors.Invalid`` (``refused`` and the reason) if ``uri`` itself is
    refused (nothing is sent) and ``FetchFailed`` for everything that goes wrong after that.
    """
    opts = conf.import_filtering_opts
    hop = _first_hop(uri, conf, refused)
    origin = _origin(hop)
    extra = dict(headers or {})
    for redirects in range(opts.max_redirects + 1):
        if extra and _origin(hop) != origin:
            extra = {}
        connection, response = _get(hop, opts, extra)
        location = response.getheader("Location")
        if response.status not in _REDIRECTS or not location:
            return _final(connection, response, hop)
        connection.close()
        if redirects == opts.max_redirects:
            break
        uri = urllib.parse.urldefrag(urllib.parse.urljoin(uri, location.strip())).url
        try:
            hop = _check(uri, opts)
        except Refused as exc:
            raise FetchFailed(f"redirect from host {hop.host} refused: {exc}") from None
    raise FetchFailed(f"more than {opts.max_redirects} redirects, last from host {hop.host}")


class WebSource:
    """The body of a fetched URI, streamed: ``read(n)`` returns at most ``n`` bytes."""

    def __init__(
        self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse, host: str
    ) -> None:
        self._connection = connection
        self._response = response
        self._host = host
        self.status = response.status
        self.size: int | None = response.length  # Content-Length; None if chunked or absent

    def read(self, size: int = -1) -> bytes:
        try:
            return self._response.read(None if size < 0 else size)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed(f"reading from host {self._host} failed: {_why(exc)}") from exc

    def close(self) -> None:
        self._response.close()
        self._connection.close()

    def __enter__(self) -> WebSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to ``address`` for ``hop.host``: the TCP connection goes to the checked address,
    the Host header, SNI and certificate check use the host's name."""

    def __init__(self, hop: _Hop, address: IPAddress, opts: cfg.ConfigOpts) -> None:
        super().__init__(hop.host, hop.port, timeout=opts.read_timeout)
        self._address = address
        self._connect_timeout: float = opts.connect_timeout
        self._tls = ssl.create_default_context() if hop.scheme == "https" else None
        if self._tls is not None:
            self.default_port = 443  # so Host carries no ":443"

    def connect(self) -> None:
        sock = socket.create_connection((str(self._address), self.port), self._connect_timeout)
        sock.settimeout(self.timeout)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def _first_hop(uri: str, conf: cfg.ConfigOpts, refused: str = REFUSED) -> _Hop:
    try:
        return _check(uri, conf.import_filtering_opts)
    except Refused as exc:
        raise errors.Invalid(refused + str(exc)) from None


def _origin(hop: _Hop) -> tuple[str, str, int]:
    return hop.scheme, hop.host, hop.port


def _check(uri: str, opts: cfg.ConfigOpts) -> _Hop:
    """The hop ``uri`` makes, or ``Refused``. Messages never quote the URI (it may carry
    credentials or tokens), only its scheme, host and port."""
    try:
        parts = urllib.parse.urlsplit(uri)
        port = parts.port
    except ValueError:
        raise Refused("it is not a valid URI") from None
    scheme = parts.scheme.lower()
    schemes = (
        {s.strip().lower() for s in opts.allowed_schemes},
        {s.strip().lower() for s in opts.disallowed_schemes},
    )
    if scheme not in _SCHEMES or not _passes(scheme, *schemes):
        raise Refused(f"scheme {scheme or '(none)'} is not allowed")
    if "@" in parts.netloc:
        raise Refused("credentials in the URI are not allowed")
    if parts.fragment or "#" in uri:
        raise Refused("fragments are not allowed")
    port = _DEFAULT_PORTS[scheme] if port is None else port
    if not _passes(str(port), _ports(opts.allowed_ports), _ports(opts.disallowed_ports)):
        raise Refused(f"port {port} is not allowed")
    host = normalise_host(parts.hostname or "")
    allowed, denied = _hosts(opts.allowed_hosts), _hosts(opts.disallowed_hosts)
    if not _passes(str(host), allowed, denied):
        raise Refused(f"host {host} is not allowed")
    if isinstance(host, str):
        addresses = resolve(host, port)
        for address in addresses:
            reason = refusal(address, opts.allow_private_addresses)
            if reason is None and not allowed and str(address) in denied:
                reason = "which is not allowed"
            if reason is not None:
                raise Refused(f"host {host} resolves to {address}, {reason}")
    else:
        reason = refusal(host, opts.allow_private_addresses)
        if reason is not None:
            raise Refused(f"host {host} is {reason}")
        addresses = [host]
    target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe="/?%:@!$&'()*+,;=~")
    return _Hop(scheme, str(host), port, target, tuple(addresses))


def _passes(value: str, allowed: list[str] | set[str], denied: list[str] | set[str]) -> bool:
    return value in allowed if allowed else value not in denied


def _ports(entries: list[str]) -> set[str]:
    return {str(int(entry)) if entry.strip().isdigit() else entry.strip() for entry in entries}


def _hosts(entries: list[str]) -> set[str]:
    """Host-list entries in the form hosts are compared in (addresses normalised)."""
    normalised = set()
    for entry in entries:
        try:
            normalised.add(str(normalise_host(entry.strip().strip("[]"))))
        except Refused:
            normalised.add(entry.strip().lower())
    return normalised


def _get(
    hop: _Hop, opts: cfg.ConfigOpts, headers: dict[str, str]
) -> tuple[_PinnedConnection, http.client.HTTPResponse]:
    """Connect to the first of the hop's checked addresses that answers, then GET with our
    headers and ``headers``."""
    error: Exception | None = None
    for address in hop.addresses:
        connection = _PinnedConnection(hop, address, opts)
        try:
            connection.connect()
            break
        except OSError as exc:
            connection.close()
            error = exc
    else:
        raise FetchFailed(f"cannot connect to host {hop.host} port {hop.port}: {_why(error)}")
    try:
        connection.request("GET", hop.target, headers={**_HEADERS, **headers})
        return connection, connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise FetchFailed(f"GET from host {hop.host} failed: {_why(exc)}") from exc


def _final(
    connection: _PinnedConnection, response: http.client.HTTPResponse, hop: _Hop
) -> WebSource:
    if 200 <= response.status < 300:
        return WebSource(connection, response, hop.host)
    connection.close()
    raise FetchFailed(f"host {hop.host} answered HTTP {response.status} {response.reason}".strip())


def _why(exc: BaseException | None) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
