"""The Slack app rasa-handoff needs, in one place: its scopes, the URLs to paste into it (made
from `inbox.public_url`), where Slack's authorize page is (next to `slack.api_url`), and the signed
`state` of Connect to Slack. Plain functions: the inbox's flow (slack_connect.py) and
`handoff check` use them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from handoff_plugin.config.settings import Settings, SlackSettings

# chat:write posts (and answers an unmapped user ephemerally); channels:read lists the channels
# to pick from; channels:join puts the bot in the chosen one; channels:history delivers the
# thread replies (event message.channels); users:read and users:read.email map a Slack user
# to an agent by email.
SCOPES = (
    "chat:write",
    "channels:read",
    "channels:join",
    "channels:history",
    "users:read",
    "users:read.email",
)
NOTIFY_SCOPES = ("chat:write",)
TWO_WAY_SCOPES = ("channels:history", "users:read", "users:read.email")
CALLBACK_PATH = "slack/oauth/callback"  # under the inbox: the app's OAuth Redirect URL
PICKER_PATH = "settings/slack"
STATE_TTL = timedelta(minutes=10)


# --- where things are ---


def authorize_endpoint(api_url: str) -> str:
    """Slack's authorize page next to its Web API: https://slack.com/api/ ->
    https://slack.com/oauth/v2/authorize (a stand-in at http://127.0.0.1:9/api/ ->
    http://127.0.0.1:9/oauth/v2/authorize; a proxy's /slack/api/ -> /slack/oauth/v2/authorize)."""
    parts = urlsplit(api_url)
    path = parts.path.rstrip("/")
    prefix = path[: -len("/api")] if path.endswith("/api") else ""
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/oauth/v2/authorize", "", ""))


def authorize_url(settings: Settings, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.slack.client_id,
            "scope": ",".join(SCOPES),
            "redirect_uri": redirect_uri(settings.inbox.public_url),
            "state": state,
        }
    )
    return f"{authorize_endpoint(settings.slack.api_url)}?{query}"


def redirect_uri(inbox_public_url: str) -> str:
    """The app's OAuth Redirect URL: the inbox's callback."""
    return f"{inbox_public_url.rstrip('/')}/{CALLBACK_PATH}"


def server_url(inbox_public_url: str) -> str:
    """The Rasa server's public address: the inbox URL without its /webhooks/inbox."""
    url = inbox_public_url.rstrip("/")
    if url.endswith("/webhooks/inbox"):
        return url[: -len("/webhooks/inbox")]
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def events_url(inbox_public_url: str) -> str:
    """Where Slack sends events (the app's Event Subscriptions Request URL)."""
    return f"{server_url(inbox_public_url)}/webhooks/slack/events"


def interactions_url(inbox_public_url: str) -> str:
    """Where Slack sends button clicks (the app's Interactivity Request URL)."""
    return f"{server_url(inbox_public_url)}/webhooks/slack/interactions"


def connect_available(slack: SlackSettings) -> bool:
    return bool(slack.client_id and slack.client_secret.get_secret_value())


# --- the state ---


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, nonce: str, expires: int, agent_id: int, login: str) -> str:
    message = f"{nonce}.{expires}.{agent_id}.{login}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def state_digest(nonce: str) -> str:
    """What the database keeps of a state (not the nonce, which would be enough to use it)."""
    return hashlib.sha256(nonce.encode()).hexdigest()[:48]


def mint_state(key: bytes, agent_id: int, login: str, expires_at: datetime, nonce: str) -> str:
    """`nonce.expiry.agent.mac`; the MAC covers the agent and their login (`login`: the
    session's CSRF token, a secret the server keeps per login), so another login cannot use it."""
    expires = int(expires_at.timestamp())
    return f"{nonce}.{expires}.{agent_id}.{_mac(key, nonce, expires, agent_id, login)}"


@dataclass(frozen=True)
class StateCheck:
    nonce: str
    expires_at: datetime


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12  # not "³", which int() refuses


def read_state(key: bytes, state: str, agent_id: int, login: str) -> StateCheck | None:
    """The state's nonce and expiry if this server signed it for this agent's login, else None
    (forged, altered, another admin's or another login's, or malformed)."""
    parts = state.split(".")
    if len(parts) != 4 or not all(parts) or len(state) > 200:
        return None
    nonce, expires, agent, mac = parts
    if not (_number(expires) and _number(agent) and int(agent) == agent_id):
        return None
    if not hmac.compare_digest(mac, _mac(key, nonce, int(expires), agent_id, login)):
        return None
    return StateCheck(nonce, datetime.fromtimestamp(int(expires), timezone.utc))


def granted_scopes(headers: Mapping[str, Any] | None) -> set[str] | None:
    """The token's scopes from the `x-oauth-scopes` header of any Web API answer."""
    value = None
    for name, header in (headers or {}).items():
        if str(name).lower() == "x-oauth-scopes":
            value = str(header)
    if value is None:
        return None
    return {s.strip() for s in value.split(",") if s.strip()}
