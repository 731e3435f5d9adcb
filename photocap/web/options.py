"""What `photocap serve` was asked for, and the secrets of one server run."""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_secret() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class ServeOptions:
    home: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    read_only: bool = False
    token: str | None = None  # required on every request when set (always set off loopback)
    csrf_secret: str = field(default_factory=new_secret)
    page_size: int = 60

    def allowed_host_names(self) -> frozenset[str]:
        """The names a Host header may carry: the loopback names and the address served on; on every address
        (0.0.0.0), this machine's name and addresses too."""
        host = self.host.lower().strip("[]")
        if host not in WILDCARD_HOSTS:
            return frozenset({*LOOPBACK_NAMES, host})
        return frozenset({*LOOPBACK_NAMES, *machine_names(), *interface_addresses()})

    def url(self) -> str:
        """The address to open on this machine (on every address: by this machine's name)."""
        return self.urls()[0]

    def urls(self) -> list[str]:
        """The addresses the server answers on: the one asked for; on every address, this machine's name, then
        each of its network addresses (for a phone on the home network that cannot resolve the name)."""
        host = self.host.strip("[]")
        hosts = [host]
        if host in WILDCARD_HOSTS:
            hosts = [socket.gethostname()] + sorted(
                (address for address in interface_addresses() if not is_loopback(address)),
                key=lambda address: (":" in address, address))  # IPv4 first: what people type
        return [self._url(name) for name in hosts]

    def _url(self, host: str) -> str:
        host = f"[{host}]" if ":" in host else host
        base = f"http://{host}:{self.port}/"
        return f"{base}?token={self.token}" if self.token else base


def checked_options(home: Path, host: str, port: int, read_only: bool, token: str | None,
                    generate_token: bool) -> ServeOptions:
    """The options, with a token generated when one is needed (a non-loopback host) or asked for; raises
    ValueError for a token too short to be a secret."""
    if token is not None and len(token) < 16:
        raise ValueError("--token must be at least 16 characters")
    if token is None and (generate_token or not is_loopback(host)):
        token = new_secret()
    return ServeOptions(home=home, host=host, port=port, read_only=read_only, token=token)


SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address
IF_INET6 = Path("/proc/net/if_inet6")


def interface_addresses() -> set[str]:
    """The IP addresses of this machine's network interfaces (Linux; elsewhere what its name resolves to). A Host
    header that is one of them was typed as an address, so it cannot come from DNS rebinding."""
    addresses: set[str] = set()
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return {address for address in machine_names() if _is_address(address)}
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            with contextlib.suppress(OSError):
                addresses.add(socket.inet_ntoa(fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24]))
    with contextlib.suppress(OSError):
        for line in IF_INET6.read_text().splitlines():
            digits = line.split()[0]
            address = ipaddress.IPv6Address(int(digits, 16))
            if not address.is_link_local:  # fe80:: needs a zone index, which a Host header cannot carry
                addresses.add(str(address))
    return addresses


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def machine_names() -> set[str]:
    """This machine's host name, its fully qualified name, and the addresses they resolve to."""
    names = {socket.gethostname(), socket.getfqdn()}
    addresses: set[str] = set()
    for name in names:
        try:
            addresses.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    return {name.lower() for name in names | addresses if name}
