"""The inbox's pages (Jinja2, autoescaped) and its local assets (no CDN, no inline script)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from handoff_plugin.inbox.http import Response, html_response, redirect
from handoff_plugin.models import AgentSession

WEB = Path(__file__).resolve().parent.parent / "web" / "inbox"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}  # fmt: skip


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


class InboxPages:
    def __init__(self, base_path: str, web: Path = WEB) -> None:
        self.base = base_path.rstrip("/")
        self.env = Environment(
            loader=FileSystemLoader(str(web / "templates")),
            autoescape=select_autoescape(["html"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.assets: dict[str, Asset] = {}
        for path in sorted((web / "static").iterdir()):
            if path.is_file() and path.suffix in TYPES:
                self.assets[path.name] = Asset(path.read_bytes(), TYPES[path.suffix])
        digest = hashlib.sha256(b"".join(a.body for a in self.assets.values())).hexdigest()
        self.version = digest[:12]  # in asset URLs, so a new release is never served stale

    def render(self, template: str, **context: Any) -> Response:
        page = self.env.get_template(template).render(
            base=self.base, version=self.version, **context
        )
        return html_response(page)

    def app(self, session: AgentSession, page: str, chatbot_name: str, **extra: Any) -> Response:
        return self.render(
            f"{page}.html",
            page=page,
            agent=session.agent,
            csrf_token=session.csrf_token,
            chatbot_name=chatbot_name,
            **extra,
        )

    def login(self, next_path: str, chatbot_name: str) -> Response:
        return self.render("login.html", page="login", next=next_path, chatbot_name=chatbot_name)

    def safe_next(self, value: str | None) -> str:
        """Where to go after logging in: a page of this inbox only (no open redirect)."""
        default = f"{self.base}/"
        if not value:
            return default
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not value.startswith(f"{self.base}/"):
            return default
        if "\\" in value or "//" in value or ".." in value:
            return default
        return value

    def to_login(self, path: str) -> Response:
        wanted = f"{self.base}/{path}" if path else f"{self.base}/"
        return redirect(f"{self.base}/login?next={quote(wanted, safe='/')}")

    def asset(self, name: str) -> Response | None:
        asset = self.assets.get(name)
        if asset is None:
            return None
        return Response(
            200, asset.body, asset.content_type, {"Cache-Control": "public, max-age=86400"}
        )
