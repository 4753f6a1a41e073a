"""Agents of the inbox: accounts (Argon2id passwords), logins with throttling, server-side
sessions that any process can check."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from handoff_plugin.addresses import normalize_email
from handoff_plugin.errors import InvalidInput, NotFound, PermissionDenied
from handoff_plugin.inbox.login_throttle import LoginThrottle, account_key, address_key
from handoff_plugin.models import Agent, AgentSession
from handoff_plugin.store import Store
from handoff_plugin.store.queries.agents import AgentQueries

log = structlog.get_logger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SESSION_IDLE = timedelta(hours=12)  # a session unused this long is over
SESSION_MAX_AGE = timedelta(hours=24)  # and none lasts longer (inbox.session_max_hours)
SESSION_TOUCH = timedelta(minutes=5)  # extend the session at most this often (one write)


class LoginThrottled(PermissionDenied):
    """Too many failed logins for this account or from this address."""

    def __init__(self, retry_after: float) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed logins. Try again in about {minutes} minute{'s' * (minutes != 1)}."
        )
        self.retry_after = retry_after


class BadCredentials(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("Wrong email or password.")


def check_email(email: object) -> str:
    normalized = normalize_email(email.strip()) if isinstance(email, str) else None
    if not normalized:
        raise InvalidInput(f"{email!r} is not an email address, e.g. ann@example.com")
    return normalized.lower()


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("the agent's name must not be empty: visitors see it in the chat")
    if len(name.strip()) > 200:
        raise InvalidInput("the agent's name is longer than 200 characters")
    return " ".join(name.split())


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Passwords:
    """Argon2id hashing, off the event loop (one hash takes a fifth of a second on purpose)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no hash, spends the same time and says False."""
        if password_hash is None:
            self._dummy = self._dummy or await self.hash(secrets.token_urlsafe(16))
            password_hash = self._dummy
            password = password + "\x00"  # never matches
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class Login:
    token: str  # goes into the session cookie; only its hash is stored
    session: AgentSession


class AgentService:
    def __init__(
        self,
        store: Store,
        passwords: Passwords | None = None,
        throttle: LoginThrottle | None = None,
        max_age: timedelta = SESSION_MAX_AGE,
    ) -> None:
        self.store = store
        self.passwords = passwords or Passwords()
        self.throttle = throttle or LoginThrottle()
        self.max_age = max_age  # a stolen cookie stops working by then, however busy it is

    # --- accounts (the `handoff agent` command) ---

    async def add(self, email: object, name: object, password: object) -> Agent:
        address, shown, secret = check_email(email), check_name(name), check_password(password)
        password_hash = await self.passwords.hash(secret)
        async with self.store.transaction() as tx:
            agent = await AgentQueries(tx).add(address, shown, password_hash)
        if agent is None:
            raise InvalidInput(
                f"an agent with the email {address} exists already; "
                "change its password with `handoff agent passwd`"
            )
        log.info("handoff.agent.added", agent_id=agent.id)
        return agent

    async def all(self) -> list[Agent]:
        async with self.store.transaction() as tx:
            return await AgentQueries(tx).all()

    async def _by_email(self, q: AgentQueries, email: object) -> Agent:
        address = check_email(email)
        found = await q.with_hash(address)
        if found is None:
            raise NotFound(f"there is no agent with the email {address}")
        return found[0]

    async def remove(self, email: object) -> Agent:
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            agent = await self._by_email(q, email)
            await q.remove(agent.id)
        log.info("handoff.agent.removed", agent_id=agent.id)
        return agent

    async def set_password(self, email: object, password: object) -> int:
        """Change the password and end the agent's sessions; returns how many were ended."""
        password_hash = await self.passwords.hash(check_password(password))
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            agent = await self._by_email(q, email)
            await q.set_password_hash(agent.id, password_hash)
            ended = await q.delete_sessions_of(agent.id)
            await self.throttle.succeeded(q, account_key(agent.email))
        log.info("handoff.agent.password_changed", agent_id=agent.id, sessions_ended=ended)
        return ended

    # --- logging in and out ---

    async def login(self, email: object, password: object, client: str) -> Login:
        """A new session, or PermissionDenied (wrong email or password, or throttled)."""
        if not isinstance(email, str) or not isinstance(password, str) or not email.strip():
            raise InvalidInput('send {"email": "...", "password": "..."}')
        address = (normalize_email(email.strip()) or email.strip()).lower()
        keys = [account_key(address), address_key(client)]
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            wait = await self.throttle.blocked_for(q, keys, tx.clock())
            found = await q.with_hash(address)
        if wait:
            log.warning("handoff.inbox.login_throttled", retry_after=round(wait))
            raise LoginThrottled(wait)
        ok = await self.passwords.verify(
            found[1] if found else None, password[:MAX_PASSWORD_LENGTH]
        )
        if not ok or found is None:
            async with self.store.transaction() as tx:  # committed: the failure counts
                await self.throttle.failed(AgentQueries(tx), keys, tx.clock())
            log.warning("handoff.inbox.login_failed", known_account=found is not None)
            raise BadCredentials()
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            agent, password_hash = found
            await self.throttle.succeeded(q, account_key(agent.email))
            await q.logged_in(agent.id)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires_at = tx.clock() + min(SESSION_IDLE, self.max_age)
            await q.create_session(hash_token(token), agent.id, csrf, expires_at)
            await q.delete_expired_sessions()
            session = AgentSession(agent, csrf, tx.clock(), expires_at)
        if self.passwords.needs_rehash(password_hash):
            new_hash = await self.passwords.hash(password)
            async with self.store.transaction() as tx:
                await AgentQueries(tx).set_password_hash(agent.id, new_hash)
        log.info("handoff.inbox.logged_in", agent_id=agent.id)
        return Login(token, session)

    async def session(self, token: str | None) -> AgentSession | None:
        """The live session this cookie token names, extended while in use; else None."""
        if not token or len(token) > 200:
            return None
        token_hash = hash_token(token)
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            session = await q.session(token_hash)
            now = tx.clock()
            if session is None:
                return None
            started = session.started_at or session.last_seen_at
            if session.expires_at <= now or now - started >= self.max_age:
                await q.delete_session(token_hash)
                return None
            if now - session.last_seen_at >= SESSION_TOUCH:
                await q.touch_session(token_hash, min(now + SESSION_IDLE, started + self.max_age))
        return session

    async def logout(self, token: str) -> None:
        async with self.store.transaction() as tx:
            await AgentQueries(tx).delete_session(hash_token(token))


def csrf_matches(session: AgentSession, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf_token.encode(), str(sent).encode())
