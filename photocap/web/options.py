"""What `photocap serve` was asked for, and the secrets of one server run."""

from __future__ import annotations

import ipaddress
import secrets
import socket
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
        return frozenset({*LOOPBACK_NAMES, *machine_names()})

    def url(self) -> str:
        host = self.host.strip("[]")
        if host in WILDCARD_HOSTS:
            host = socket.gethostname()
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
