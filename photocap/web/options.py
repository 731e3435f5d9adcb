"""What `photocap serve` was asked for, and the secrets of one server run."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


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
        """The names a Host header may carry: the loopback names, and the address served on."""
        return frozenset({*LOOPBACK_NAMES, self.host.lower().strip("[]")})

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
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
