"""Framework-neutral HTTP for the inbox: the request the channel hands over, the responses the
core returns, security headers and the session cookie."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from handoff_plugin.errors import InvalidInput

COOKIE = "handoff_inbox_session"
MAX_BODY = 256 * 1024

# No inline script or style, nothing from elsewhere: visitor text can never run as code here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below the inbox's base path, without a leading slash: "api/conversations/7"
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    cookies: Mapping[str, str]
    body: bytes
    client: str  # the client's address (as the server is configured to see it)
    secure: bool  # served over HTTPS (directly, or behind a proxy that says so)

    def json(self) -> Any:
        if len(self.body) > MAX_BODY:
            raise InvalidInput(f"the request body is larger than {MAX_BODY // 1024} KB")
        if not self.body:
            raise InvalidInput("the request needs a JSON body")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("the request body is not valid JSON") from None

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip() == "application/json"


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    path: str
    secure: bool
    max_age: int | None = None  # None: until the browser closes; 0: delete now


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[SetCookie] = field(default_factory=list)


@dataclass
class StreamResponse:
    """Server-Sent Events: the channel writes each chunk as it comes."""

    chunks: AsyncIterator[str]
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, **headers: str) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json", dict(headers))


def error(status: int, message: str, **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status)


def html_response(page: str, status: int = 200) -> Response:
    return Response(status, page.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(302, b"", "text/plain", {"Location": location})


def is_https(scheme: str, forwarded_proto: str | None) -> bool:
    """Behind a TLS-terminating proxy the scheme is http but X-Forwarded-Proto says https."""
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return scheme == "https" or proto == "https"
