"""Which receiver URLs are allowed: checked when a subscription is made and again
before every delivery (a name may resolve elsewhere later: DNS rebinding).

Refused unless inside WEBHOOKS_ALLOWED_NETWORKS: loopback, link-local, private,
shared (CGNAT), multicast, reserved and unspecified addresses, and IPv6
equivalents (ipaddress knows them all). https is required; plain http only
when every address of the host lies in WEBHOOKS_ALLOWED_NETWORKS (an
operator-allowed internal receiver, or the tests' loopback receiver).
The sender connects to the address checked here, never resolving again.
"""
import ipaddress
import socket
import urllib.parse

from services.common.errors import InvalidInput
from services.webhooks import settings

MAX_LENGTH = 2000


class Refused(InvalidInput):
    def __init__(self, reason):
        super().__init__(f"url refused: {reason}", fields={"url": [reason]})
        self.reason = reason


class Target:
    """A checked URL: where to connect (an address) and what to ask for there."""

    def __init__(self, scheme, host, port, path, addresses):
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.addresses = addresses


def _forbidden(address):
    return (address.is_loopback or address.is_link_local or address.is_private
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or not address.is_global)


def _resolve(host, port):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:   # ValueError: a NUL in the name
        raise Refused(f"host {host} does not resolve ({exc})")
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address not in found:
            found.append(address)
    if not found:
        raise Refused(f"host {host} has no address")
    return found


def check(url, allowed=None):
    """The Target of `url`, or Refused (a 400 naming `url`)."""
    allowed = settings.allowed_networks() if allowed is None else allowed
    if not isinstance(url, str) or not url or len(url) > MAX_LENGTH:
        raise Refused(f"must be an absolute URL of at most {MAX_LENGTH} characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a URL ({exc})")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Refused("must be an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password (deliveries are signed)")
    if parts.fragment:
        raise Refused("must not have a #fragment")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    inside = [any(a in net for net in allowed if a.version == net.version) for a in addresses]
    for address, ok in zip(addresses, inside):
        if _forbidden(address) and not ok:
            raise Refused(f"{host} resolves to {address}, a loopback, private, link-local or "
                          "otherwise non-public address (WEBHOOKS_ALLOWED_NETWORKS allows some)")
    if parts.scheme == "http" and not all(inside):
        raise Refused("must be https (plain http only inside WEBHOOKS_ALLOWED_NETWORKS)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses)


def host_of(url):
    """The host name of a stored URL (for events and logs: never the path or query)."""
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""
