"""Visitor session ids: minted by the server, signed, never trusted from the client.

A session id is `<key>.<signature>`: `key` is 128 random bits (hex) and doubles as the
conversation's Rasa sender id; `signature` is HMAC-SHA256 of the key under the server's session
secret. Knowing a sender id (agents, logs, Rasa's API see it) is not enough to join its session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.store import Store
from handoff_plugin.store.queries.livechat import LiveChatQueries

KEY_BYTES = 16  # 128 bits
SECRET_NAME = "livechat.session_secret"
_KEY = re.compile(r"[0-9a-f]{32}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")
_DOMAIN = b"rasa-handoff.livechat.session:"


@dataclass(frozen=True)
class SessionId:
    key: str  # the conversation's sender id
    token: str  # what the visitor keeps: key.signature

    def __str__(self) -> str:  # never log the whole token by accident
        return f"SessionId({self.key})"

    __repr__ = __str__


class SessionSigner:
    """Mints session ids and recognises the ones it minted."""

    def __init__(self, secret: bytes, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        if len(secret) < 16:
            raise ConfigurationError(
                f"handoff: {SECRET_NAME} must be at least 16 bytes",
                field=SECRET_NAME,
                value="********",
                allowed="at least 16 bytes",
            )
        self._secret = secret
        self._random_bytes = random_bytes

    def _sign(self, key: str) -> str:
        digest = hmac.new(self._secret, _DOMAIN + key.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def mint(self) -> SessionId:
        key = self._random_bytes(KEY_BYTES).hex()
        return SessionId(key, f"{key}.{self._sign(key)}")

    def verify(self, token: object) -> SessionId | None:
        """The session id if `token` is one we minted, else None (forged, altered, malformed)."""
        if not isinstance(token, str) or len(token) != 32 + 1 + 43:
            return None
        key, _, signature = token.partition(".")
        if not (_KEY.fullmatch(key) and _SIGNATURE.fullmatch(signature)):
            return None
        if not hmac.compare_digest(signature, self._sign(key)):
            return None
        return SessionId(key, token)


async def session_secret(settings: Settings, store: Store) -> bytes:
    """`livechat.session_secret` if set; otherwise one generated on first start and kept in the
    database, so every process and every restart signs alike."""
    configured = settings.livechat.session_secret.get_secret_value()
    if configured:
        return configured.encode()
    async with store.transaction() as tx:
        value = await LiveChatQueries(tx).secret(SECRET_NAME, lambda: secrets.token_urlsafe(32))
    return value.encode()
