"""Connect to Slack: Slack's OAuth v2 install flow from the Settings page, then a channel picker.

1. `start`: an admin asks; they get Slack's authorize URL (derived from the *current*
   `slack.api_url`, so a local stand-in can play Slack) with the scopes and a `state` that is
   signed, expires after ten minutes, can be used once and belongs to their login.
2. `finish`: Slack sends the browser back with `code` and `state` (or `error=access_denied`). The
   state is checked, the code is exchanged with `oauth.v2.access`, the bot token is saved like
   any secret from the Settings page (encrypted at rest, audited as "changed").
3. `workspace` / `choose`: the workspace's name and public channels; choosing one joins it,
   saves `slack.channel` and switches Slack notifications on.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import InvalidInput, PermissionDenied, Unavailable
from handoff_plugin.inbox.admin import actor, require_admin
from handoff_plugin.inbox.slack_app import (
    SCOPES,
    STATE_TTL,
    authorize_url,
    connect_available,
    granted_scopes,
    mint_state,
    read_state,
    redirect_uri,
    state_digest,
)
from handoff_plugin.models import AgentSession
from handoff_plugin.store import Store
from handoff_plugin.store.queries.oauth_states import OAuthStateQueries
from handoff_plugin.store.saved_settings import StoredSettings

log = structlog.get_logger(__name__)

MAX_CHANNELS = 1000
_CHANNEL_ID = "CG"  # public (C) and old private (G) channel ids start so


# --- outcomes ---


class ConnectRefused(InvalidInput):
    """The callback cannot connect; `title` and the message are shown to the admin as a page."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.status = status


@dataclass(frozen=True)
class Connected:
    team: str
    missing_scopes: tuple[str, ...]


@dataclass(frozen=True)
class Chosen:
    settings: Settings
    channel: dict[str, Any]
    joined: bool
    join_error: str | None


ClientFactory = Callable[..., AsyncWebClient]


def _client(**kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(retry_handlers=[], **kwargs)


def _slack_error(error: SlackApiError) -> str:
    data = error.response.data if isinstance(error.response.data, dict) else {}
    return str(data.get("error") or f"HTTP {error.response.status_code}")


# Slack's answers an admin can act on.
EXCHANGE_ERRORS = {
    "invalid_code": "the code from Slack is not valid (it was already used, or is too old)",
    "bad_redirect_uri": (
        "the app's OAuth Redirect URL must be {redirect_uri} (the app's OAuth & Permissions "
        "page, Redirect URLs); set the Inbox public URL right first"
    ),
    "invalid_client_id": "slack.client_id is not the app's Client ID (Basic Information page)",
    "bad_client_secret": (
        "slack.client_secret is not the app's Client Secret (Basic Information page)"
    ),
}


class SlackConnect:
    """The flow's steps, each for the admin whose login asks."""

    def __init__(
        self,
        store: Store,
        settings: StoredSettings,
        client: ClientFactory = _client,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client

    async def start(self, me: AgentSession) -> str:
        """Slack's authorize URL with a fresh state for this login."""
        require_admin(me.agent, "connect Slack")
        settings = await self.settings.current()  # never an older read: api_url may change
        if not connect_available(settings.slack):
            raise InvalidInput(
                "Set the Slack app's Client ID and Client Secret (its Basic Information page, "
                "App Credentials) and save them first."
            )
        nonce = secrets.token_urlsafe(24)
        async with self.store.transaction() as tx:
            queries = OAuthStateQueries(tx)
            expires_at = tx.clock() + STATE_TTL
            state = mint_state(
                await queries.signing_key(), me.agent.id, me.csrf_token, expires_at, nonce
            )
            await queries.remember(state_digest(nonce), expires_at)
        log.info("handoff.slack.connect_started", agent_id=me.agent.id)
        return authorize_url(settings, state)

    async def finish(self, me: AgentSession, query: Mapping[str, str]) -> Connected:
        """Check the state, exchange the code, save the bot token; ConnectRefused says why not."""
        if not me.agent.is_admin:
            raise ConnectRefused(
                "Only admins can connect Slack",
                "Only admins can connect Slack. Ask an admin of this inbox.",
                403,
            )
        await self._use_state(me, query.get("state"))
        if query.get("error"):
            reason = query["error"]
            log.info("handoff.slack.connect_declined", agent_id=me.agent.id, reason=reason[:50])
            if reason == "access_denied":
                raise ConnectRefused(
                    "Slack was not connected",
                    "You cancelled on Slack's page (or Slack refused the installation), so "
                    "nothing was changed. Click Connect to Slack again to retry.",
                )
            raise ConnectRefused(
                "Slack was not connected", f"Slack answered {reason[:100]!r}; nothing was changed."
            )
        code = query.get("code")
        if not code:
            raise ConnectRefused(
                "Slack was not connected", "Slack sent no code back; nothing was changed."
            )
        settings = await self.settings.current()
        answer = await self._exchange(settings, code)
        token = answer.get("access_token")
        if not isinstance(token, str) or answer.get("token_type") != "bot" or not token:
            raise ConnectRefused(
                "Slack was not connected",
                "Slack's answer carried no bot token; check that the app has a bot user "
                "(its App Home page) and try again.",
            )
        found = answer.get("team")
        team: dict[str, Any] = found if isinstance(found, dict) else {}
        granted = set(str(answer.get("scope") or "").split(","))
        await self.settings.save({"slack": {"bot_token": token}}, actor(me.agent))
        log.info(
            "handoff.slack.connected",
            agent_id=me.agent.id,
            team_id=str(team.get("id") or "")[:40],
            scopes=len(granted),
        )
        return Connected(
            str(team.get("name") or "your workspace"),
            tuple(s for s in SCOPES if s not in granted),
        )

    async def _use_state(self, me: AgentSession, state: str | None) -> None:
        again = " Start again with Connect to Slack on the Settings page; nothing was changed."
        if not state:
            raise ConnectRefused(
                "Slack was not connected", "The answer from Slack carries no state." + again
            )
        async with self.store.transaction() as tx:
            queries = OAuthStateQueries(tx)
            check = read_state(await queries.signing_key(), state, me.agent.id, me.csrf_token)
            if check is None:
                raise ConnectRefused(
                    "Slack was not connected",
                    "This answer from Slack was not started by your login here (its state does "
                    "not match)." + again,
                    403,
                )
            if tx.clock() >= check.expires_at:
                raise ConnectRefused(
                    "Slack was not connected",
                    f"The request expired (it is valid for {STATE_TTL.seconds // 60} minutes)."
                    + again,
                )
            if not await queries.use(state_digest(check.nonce)):
                raise ConnectRefused(
                    "Slack was not connected",
                    "This answer from Slack was already used (a reload, or the back button)."
                    + again,
                )

    async def _exchange(self, settings: Settings, code: str) -> dict[str, Any]:
        slack = settings.slack
        client = self.client(base_url=slack.api_url, timeout=max(1, round(slack.timeout)))
        redirect = redirect_uri(settings.inbox.public_url)
        try:
            response = await client.oauth_v2_access(
                client_id=slack.client_id,
                client_secret=slack.client_secret.get_secret_value(),
                code=code,
                redirect_uri=redirect,
            )
        except SlackApiError as error:
            reason = _slack_error(error)
            log.warning("handoff.slack.connect_failed", reason=reason)
            hint = EXCHANGE_ERRORS.get(reason, "").format(redirect_uri=redirect)
            raise ConnectRefused(
                "Slack was not connected",
                f"Slack refused the installation: {reason}"
                + (f" — {hint}." if hint else ".")
                + " Nothing was changed.",
            ) from None
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            log.warning("handoff.slack.connect_failed", reason=type(error).__name__)
            raise ConnectRefused(
                "Slack was not connected",
                f"Slack could not be reached at {slack.api_url} ({type(error).__name__}). "
                "Nothing was changed; try again.",
                502,
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    # --- the channel picker ---

    async def _bot(self, me: AgentSession, what: str) -> tuple[Settings, AsyncWebClient]:
        require_admin(me.agent, what)
        settings = await self.settings.current()
        token = settings.slack.bot_token.get_secret_value()
        if not token:
            raise InvalidInput(
                "No Slack bot token is saved: use Connect to Slack or paste the app's Bot User "
                "OAuth Token on the Settings page."
            )
        client = self.client(
            token=token,
            base_url=settings.slack.api_url,
            timeout=max(1, round(settings.slack.timeout)),
        )
        return settings, client

    async def workspace(self, me: AgentSession) -> dict[str, Any]:
        """The workspace the saved token belongs to, and its public channels to choose from."""
        settings, client = await self._bot(me, "choose the Slack channel")
        try:
            who = await client.auth_test()
            channels: list[dict[str, Any]] = []
            cursor = None
            while len(channels) < MAX_CHANNELS:
                page = await client.conversations_list(
                    types="public_channel", exclude_archived=True, limit=200, cursor=cursor
                )
                channels.extend(
                    {
                        "id": str(c.get("id")),
                        "name": str(c.get("name") or c.get("id")),
                        "is_member": bool(c.get("is_member")),
                    }
                    for c in page.get("channels") or []
                    if isinstance(c, dict) and c.get("id")
                )
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as error:
            raise _refused(error) from None
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise Unavailable(
                f"Slack could not be reached at {settings.slack.api_url}: {type(error).__name__}"
            ) from None
        channels.sort(key=lambda c: c["name"])
        granted = granted_scopes(who.headers)
        return {
            "team": str(who.get("team") or ""),
            # None when Slack did not say (it sends x-oauth-scopes with every answer)
            "missing_scopes": None if granted is None else [s for s in SCOPES if s not in granted],
            "bot_user": str(who.get("user") or ""),
            "channel": settings.slack.channel,
            "enabled": settings.slack.enabled,
            "channels": channels,
        }

    async def choose(self, me: AgentSession, body: object) -> Chosen:
        """Join the channel, save it and switch Slack notifications on."""
        _, client = await self._bot(me, "choose the Slack channel")
        if not isinstance(body, dict) or not isinstance(body.get("channel"), str):
            raise InvalidInput('send {"channel": "C0123456789"}')
        channel_id = body["channel"].strip()
        if not (
            2 < len(channel_id) <= 40 and channel_id[0] in _CHANNEL_ID and channel_id.isalnum()
        ):
            raise InvalidInput(f"{channel_id[:40]!r} is not a Slack channel id like C0123456789")
        joined, join_error = True, None
        channel: dict[str, Any] = {"id": channel_id, "name": channel_id}
        try:
            answer = await client.conversations_join(channel=channel_id)
            found = answer.get("channel")
            if isinstance(found, dict):
                channel["name"] = str(found.get("name") or channel_id)
        except SlackApiError as error:
            reason = _slack_error(error)
            if reason in ("channel_not_found", "is_archived"):
                raise InvalidInput(
                    f"Slack answered {reason} for {channel_id}: pick another channel"
                ) from None
            joined, join_error = False, reason  # e.g. missing_scope: the admin invites the bot
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise Unavailable(f"Slack could not be reached: {type(error).__name__}") from None
        saved = await self.settings.save(
            {"slack": {"channel": channel_id, "enabled": True}}, actor(me.agent)
        )
        log.info("handoff.slack.channel_chosen", agent_id=me.agent.id, joined=joined)
        return Chosen(saved, channel, joined, join_error)


def _refused(error: SlackApiError) -> InvalidInput | PermissionDenied:
    reason = _slack_error(error)
    if reason in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
        return InvalidInput(
            f"Slack refused the saved bot token ({reason}): connect to Slack again, or paste "
            "the app's Bot User OAuth Token on the Settings page."
        )
    if reason == "missing_scope":
        return InvalidInput(
            "The app lacks the channels:read scope needed to list channels: add it (OAuth & "
            "Permissions page) and connect to Slack again, or type the channel on the Settings "
            "page."
        )
    return InvalidInput(f"Slack answered {reason}.")
