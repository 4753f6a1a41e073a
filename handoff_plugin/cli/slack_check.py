"""`handoff check`'s Slack part: what is set and what is missing for notifications, for answering
from Slack (two-way) and for Connect to Slack, with the URLs to paste into the Slack app; with
`--slack`, the saved token is tried with `auth.test`. Secrets are only ever said to be set."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handoff_plugin.config.settings import Settings, load_settings, mask_url_password
from handoff_plugin.errors import HandoffError
from handoff_plugin.inbox.slack_app import (
    NOTIFY_SCOPES,
    SCOPES,
    TWO_WAY_SCOPES,
    connect_available,
    events_url,
    granted_scopes,
    interactions_url,
    redirect_uri,
)
from handoff_plugin.store import open_store
from handoff_plugin.store.queries.settings import SettingsQueries

OK, MISSING, NOTE = "  [ok]     ", "  [missing]", "  [info]   "  # one column wide


def _no_database_yet(url: str) -> bool:
    """A SQLite file that does not exist (the check must not create one)."""
    if not (url.startswith("sqlite") and ":///" in url):
        return False
    path = url.split(":///", 1)[1]
    return path != ":memory:" and not Path(path).expanduser().is_file()


async def with_saved_settings(settings: Settings) -> tuple[Settings, str]:
    """The settings in force: file and env plus what was saved from the inbox's Settings page
    (where Connect to Slack keeps the token), and where they came from."""
    url = settings.database.url
    if await asyncio.to_thread(_no_database_yet, url):
        return settings, "handoff.yml and env (no database yet)"
    try:
        store = await open_store(
            url, upgrade=False, secret_key=settings.security.secret_key.get_secret_value()
        )
    except HandoffError as error:
        return settings, f"handoff.yml and env (database not read: {error})"
    try:
        if not await asyncio.wait_for(store.schema_is_current(), 10):
            return settings, "handoff.yml and env (database not migrated: `handoff db upgrade`)"
        saved = await store.run(lambda tx: SettingsQueries(tx).saved_settings(), read_only=True)
        return load_settings(overrides=saved), "handoff.yml, env and the inbox's saved settings"
    except (HandoffError, OSError, asyncio.TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return settings, f"handoff.yml and env (saved settings not read: {reason})"
    except Exception as error:  # noqa: BLE001 (a driver's own error: the check goes on)
        return settings, f"handoff.yml and env (saved settings not read: {type(error).__name__})"
    finally:
        await store.close()


def report(settings: Settings) -> list[str]:
    """What `handoff check` says about Slack, line by line (no network)."""
    slack = settings.slack
    token = bool(slack.bot_token.get_secret_value())
    public = settings.inbox.public_url
    lines = [f"Slack notifications: {'on' if slack.enabled else 'off'}"]
    lines.append(
        f"{OK} slack.bot_token is set"
        if token
        else f"{MISSING} slack.bot_token: use Connect to Slack on the inbox's Settings page, or "
        "paste the app's Bot User OAuth Token (OAuth & Permissions page) there or in "
        "HANDOFF_SLACK_BOT_TOKEN"
    )
    lines.append(
        f"{OK} slack.channel = {slack.channel}"
        if slack.channel
        else f"{MISSING} slack.channel: choose it after Connect to Slack, or set "
        "HANDOFF_SLACK_CHANNEL (#name or C0123ABCD) and /invite the bot there"
    )
    lines.append(f"{NOTE} scope needed: {', '.join(NOTIFY_SCOPES)}")
    lines.append("Answer from Slack (two-way):")
    lines.append(
        f"{OK} slack.signing_secret is set"
        if slack.signing_secret.get_secret_value()
        else f"{MISSING} slack.signing_secret: the app's Basic Information page, App "
        "Credentials, Signing Secret -> HANDOFF_SLACK_SIGNING_SECRET or the Settings page"
    )
    lines.append(
        f"{NOTE} Event Subscriptions, Request URL: {events_url(public)} "
        "(subscribe to the bot event message.channels)"
    )
    lines.append(f"{NOTE} Interactivity & Shortcuts, Request URL: {interactions_url(public)}")
    lines.append(f"{NOTE} scopes needed: {', '.join(TWO_WAY_SCOPES)}")
    lines.append(f"{NOTE} thread replies starting with {slack.note_prefix!r} stay in Slack")
    lines.append("Connect to Slack:")
    lines.append(
        f"{OK} slack.client_id and slack.client_secret are set"
        if connect_available(slack)
        else f"{MISSING} slack.client_id / slack.client_secret: the app's Basic Information "
        "page, App Credentials (only for Connect to Slack; a pasted token works without)"
    )
    lines.append(f"{NOTE} OAuth & Permissions, Redirect URL: {redirect_uri(public)}")
    lines.append(f"{NOTE} Slack API: {mask_url_password(slack.api_url)}")
    return lines


async def ask_slack(settings: Settings) -> tuple[bool, list[str]]:
    """`auth.test` with the token in force: is it valid, whose, which scopes are missing."""
    slack = settings.slack
    token = slack.bot_token.get_secret_value()
    where = mask_url_password(slack.api_url)
    if not token:
        return False, [f"Slack auth.test: not tried, no bot token is set ({where})"]
    client = AsyncWebClient(
        token=token, base_url=slack.api_url, timeout=max(1, round(slack.timeout)), retry_handlers=[]
    )
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        data: Any = error.response.data if isinstance(error.response.data, dict) else {}
        reason = data.get("error") or f"HTTP {error.response.status_code}"
        return False, [
            f"Slack auth.test at {where}: refused ({reason}); connect to Slack again or paste "
            "a fresh Bot User OAuth Token"
        ]
    except (asyncio.TimeoutError, aiohttp.ClientError) as error:
        return False, [f"Slack auth.test at {where}: no answer ({type(error).__name__})"]
    lines = [
        f"Slack auth.test at {where}: ok, workspace {answer.get('team')!s}, "
        f"bot @{answer.get('user')!s}"
    ]
    granted = granted_scopes(answer.headers)
    if granted is None:
        lines.append(f"{NOTE} Slack did not say which scopes the token has")
        return True, lines
    missing = [s for s in SCOPES if s not in granted]
    notify_ok = all(s in granted for s in NOTIFY_SCOPES)
    lines.append(
        f"{OK} the token's scopes cover all that is needed"
        if not missing
        else f"{MISSING} the token lacks {', '.join(missing)}: add them on the app's OAuth & "
        "Permissions page and connect (reinstall) again"
    )
    return notify_ok, lines
