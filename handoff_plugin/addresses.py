"""Addresses: the email address a visitor types (syntax only, no DNS), and the URLs and IP
addresses of outbound requests."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

# A token with an @ in it: "my email is ann@example.com, thanks" -> "ann@example.com".
_CANDIDATE = re.compile(r"[^\s<>(),;:\"'\[\]]+@[^\s<>(),;:\"'\[\]]+")


def normalize_email(address: str) -> str | None:
    """The normalized address, or None if its syntax is not valid (`.test` domains allowed)."""
    try:
        return validate_email(address, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return None


def find_email(value: Any) -> str | None:
    """The normalized email address in `value`, or None if there is no valid one."""
    if not isinstance(value, str) or len(value) > 1000:
        return None
    for candidate in _CANDIDATE.findall(value):
        email = normalize_email(candidate.rstrip(".!?"))
        if email:
            return email
    return None


# -- URLs and IP addresses of outbound requests --------------------------------------------------

MAX_URL_LENGTH = 2048  # checked before parsing: a 250 KB "URL" is refused without reading it


def check_http_url(value: str, example: str = "https://example.com/hooks/handoff") -> str:
    """`value` if it is an absolute http(s) URL with a host, else ValueError saying why.

    Parsed with urllib.parse (no backtracking regex), after the length check."""
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"is {len(value)} characters long; at most {MAX_URL_LENGTH} are allowed")
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        ok = ok and not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number or out of range
    except ValueError:
        ok = False
    if not ok:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{shown!r} is not an http(s) URL, e.g. {example}")
    return value


def url_host_port(value: str) -> tuple[str, int]:
    """The host (without IPv6 brackets) and port a request to this checked URL connects to."""
    parts = urlsplit(value)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def non_global_kind(address: str) -> str | None:
    """Why `address` is not a public internet address ("loopback", "private", ...), or None.

    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it carries."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return kind
    return None if ip.is_global else "non-global"
