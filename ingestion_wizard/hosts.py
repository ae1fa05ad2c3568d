"""Which source hosts the portal may connect to: the one home of the source-host rule.

A provider chooses the host; the portal (web process, worker) connects from inside the
network. So every address a name resolves to is classified before connecting, the
connection goes to that vetted address (a name re-resolving differently — DNS
rebinding — changes nothing), and the peer of the open connection is checked again:

- link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254,
  …), unspecified, multicast and broadcast: always refused;
- loopback, private ranges (RFC 1918, fc00::/7, 100.64.0.0/10) and other non-global
  addresses: refused unless ``settings.INGESTION_ALLOWED_NETWORKS`` lists a network
  holding them (the embedded mode and the tests allow the local ones);
- the portal's own database (same host, port and database name as a ``DATABASES``
  entry): always refused, whatever the allow-list.

``classify`` and ``refusal`` are pure (no I/O) and unit-tested without connecting.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata / cloud agent endpoints reachable from inside a VPC; always refused.
METADATA_NETWORKS: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in (
    "169.254.169.254/32", "169.254.170.2/32", "fd00:ec2::254/128", "fd00:ec2::23/128", "100.100.100.200/32",
))
LINK_LOCAL_NETWORKS: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10"))
# Shared address space (carrier NAT, also used inside some VPCs): Python does not call it private.
SHARED_NETWORKS: tuple[Network, ...] = (ipaddress.ip_network("100.64.0.0/10"),)


class HostRefused(Exception):
    """The source host may not be connected to; ``str()`` says why (never which port answered)."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1/32, 10.0.0.0/8"`` → networks; raises ValueError naming the bad entry."""
    networks = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"INGESTION_ALLOWED_NETWORKS: '{part}' is not a network in CIDR form.") from None
    return tuple(networks)


def _plain(ip: Address) -> Address:
    """IPv4-mapped/compatible IPv6 (``::ffff:169.254.169.254``) is the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def classify(ip: Address | str) -> str:
    """One of: metadata, link-local, unspecified, multicast, reserved, loopback, private, public."""
    ip = _plain(ipaddress.ip_address(ip) if isinstance(ip, str) else ip)
    if any(ip in n for n in METADATA_NETWORKS if n.version == ip.version):
        return "metadata"
    if ip.is_link_local or any(ip in n for n in LINK_LOCAL_NETWORKS if n.version == ip.version):
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if ip.is_reserved:  # before "private": Python counts 255.255.255.255 as private too
        return "reserved"
    if ip.is_private or any(ip in n for n in SHARED_NETWORKS if n.version == ip.version):
        return "private"
    if not ip.is_global:
        return "reserved"
    return "public"


ALWAYS_REFUSED = ("metadata", "link-local", "unspecified", "multicast", "reserved")
# "reserved" covers broadcast and documentation ranges: nothing a source database lives on.


def refusal(ip: Address | str, allowed: Sequence[Network] = ()) -> str | None:
    """Why the portal may not connect to ``ip`` (a sentence), or None when it may. Pure."""
    ip = _plain(ipaddress.ip_address(ip) if isinstance(ip, str) else ip)
    kind = classify(ip)
    if kind in ALWAYS_REFUSED:
        return f"{ip} is a {kind} address; the portal never connects to those."
    if kind == "public":
        return None
    if any(ip.version == n.version and ip in n for n in allowed):
        return None
    return (f"{ip} is a {kind} address; sources there need the network in INGESTION_ALLOWED_NETWORKS "
            "(ask an administrator).")


def allowed_networks() -> tuple[Network, ...]:
    return parse_networks(settings.INGESTION_ALLOWED_NETWORKS)


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal is itself); raises HostRefused when none."""
    literal = host.strip().strip("[]")
    try:
        return [ipaddress.ip_address(literal)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(literal, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise HostRefused(f"Host {host} does not resolve.") from None
    out: list[Address] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in out:
            out.append(ip)
    if not out:
        raise HostRefused(f"Host {host} does not resolve.")
    return out


def _portal_database_addresses() -> Iterable[tuple[set[Address], int, str]]:
    """(addresses, port, database name) of each database the portal itself uses."""
    from django.db import connections

    seen = []
    for alias in settings.DATABASES:
        # The connection's settings: under pytest they name the test database, not the configured one.
        for conf in (settings.DATABASES[alias], connections[alias].settings_dict):
            key = (conf.get("HOST") or "", str(conf.get("PORT") or ""), conf.get("NAME") or "")
            if key in seen or "postgresql" not in conf.get("ENGINE", "") and "mysql" not in conf.get("ENGINE", ""):
                continue
            seen.append(key)
            host, port, name = key
            default_port = 5432 if "postgresql" in conf.get("ENGINE", "") else 3306
            if not host or host.startswith("/"):
                addresses: set[Address] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
            else:
                try:
                    addresses = set(resolve(host, int(port or default_port)))
                except HostRefused:
                    continue
            yield addresses, int(port or default_port), str(name)


def is_portal_database(addresses: Iterable[Address], port: int, database: str) -> bool:
    """True when (any of) ``addresses``:``port``/``database`` is the portal's own database. Every
    loopback address counts as the same host: a server on 0.0.0.0 answers on all of 127/8."""
    addresses = [_plain(a) for a in addresses]
    for own, own_port, own_name in _portal_database_addresses():
        if own_port != port or own_name != database:
            continue
        own_loopback = any(a.is_loopback for a in own)
        if any(a in own or (own_loopback and a.is_loopback) for a in addresses):
            return True
    return False


def vet(host: str, port: int, database: str = "") -> Address:
    """The address to connect to for ``host``; raises HostRefused unless every address it
    resolves to is allowed and it is not the portal's own database."""
    allowed = allowed_networks()
    addresses = resolve(host, port)
    for ip in addresses:
        reason = refusal(ip, allowed)
        if reason:
            raise HostRefused(f"Host {host}: {reason}" if str(ip) != host.strip("[]") else reason)
    if database and is_portal_database(addresses, port, database):
        raise HostRefused("That is the portal's own database; it cannot be a source.")
    return addresses[0]


def vet_peer(peer: str | None, port: int, database: str = "") -> None:
    """Checks the address a connection actually reached (raises HostRefused)."""
    if not peer:
        return  # a Unix socket: never chosen from a provider's host (vet refuses paths)
    ip = ipaddress.ip_address(peer.split("%")[0])
    reason = refusal(ip, allowed_networks())
    if reason:
        raise HostRefused(reason)
    if database and is_portal_database([ip], port, database):
        raise HostRefused("That is the portal's own database; it cannot be a source.")


def needs_vpc(host: str, port: int) -> bool:
    """True when ``host`` lives in a private network (RFC 1918, fc00::/7, 100.64.0.0/10): a Glue job
    reaches it only from inside a VPC, so its connection needs a subnet and security groups. A name
    that does not resolve here is left to the connection check, which reports it."""
    try:
        return any(classify(ip) == "private" for ip in resolve(host, port))
    except HostRefused:
        return False
