"""Agents of the inbox: accounts (Argon2id passwords) with a role, logins with throttling,
server-side sessions that any process can check."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from handoff_plugin.addresses import check_http_url, normalize_email
from handoff_plugin.errors import HandoffError, InvalidInput, NotFound, PermissionDenied
from handoff_plugin.inbox.login_throttle import LoginThrottle, account_key, address_key
from handoff_plugin.models import ROLES, Agent, AgentSession, Role
from handoff_plugin.store import Store
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.slack import SlackQueries

log = structlog.get_logger(__name__)

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,31}")
_T = TypeVar("_T")

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


def check_role(role: object) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidInput(f"role must be admin or agent, not {role!r}")


def check_avatar_url(value: object) -> str | None:
    """An http(s) URL of the agent's picture, or None (no picture); InvalidInput otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput("avatar_url must be an http(s) URL or null")
    try:
        return check_http_url(value.strip(), "https://example.com/ann.png")
    except ValueError as exc:
        raise InvalidInput(f"avatar_url {exc}") from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginBusy(HandoffError):
    """More logins are waiting for a password check than the server queues."""


class Passwords:
    """Argon2id hashing in worker threads (one hash takes a fifth of a second and 64 MiB on
    purpose), at most `concurrency` at a time: a flood of logins waits its turn instead of
    taking all memory and CPU, and the event loop keeps serving everything else."""

    def __init__(
        self, hasher: PasswordHasher | None = None, *, concurrency: int = 2, max_waiting: int = 64
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = max_waiting
        self.waiting = 0  # calls queued or running

    def check_room(self) -> None:
        """Refuse early (before anything is counted) when the queue is full."""
        if self.waiting >= self._max_waiting:
            raise LoginBusy("The server is busy checking other logins; try again in a moment.")

    async def _run(self, work: Callable[..., _T], *args: str) -> _T:
        self.waiting += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(work, *args)
        finally:
            self.waiting -= 1

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no hash, spends the same time and says False."""
        if password_hash is None:
            self._dummy = self._dummy or await self.hash(secrets.token_urlsafe(16))
            password_hash = self._dummy
            password = password + "\x00"  # never matches
        try:
            return await self._run(self._hasher.verify, password_hash, password)
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

    async def add(
        self, email: object, name: object, password: object, role: object = "agent"
    ) -> Agent:
        address, shown, secret = check_email(email), check_name(name), check_password(password)
        kind = check_role(role)
        password_hash = await self.passwords.hash(secret)
        async with self.store.transaction() as tx:
            agent = await AgentQueries(tx).add(address, shown, password_hash, kind)
        if agent is None:
            raise InvalidInput(
                f"an agent with the email {address} exists already; "
                "change its password with `handoff agent passwd`"
            )
        log.info("handoff.agent.added", agent_id=agent.id, role=agent.role)
        return agent

    async def all(self) -> list[Agent]:
        async with self.store.transaction() as tx:
            return await AgentQueries(tx).all()

    async def set_slack_user(self, email: object, slack_user: object) -> Agent:
        """The agent answers from Slack as `slack_user` (a member ID like U0123ABCD)."""
        user = slack_user.strip() if isinstance(slack_user, str) else ""
        if not SLACK_USER.fullmatch(user):
            raise InvalidInput(
                f"{slack_user!r} is not a Slack member ID: copy it from the person's Slack "
                "profile (More > Copy member ID), e.g. U0123ABCD"
            )
        async with self.store.transaction() as tx:
            agent = await self._by_email(AgentQueries(tx), email)
            await SlackQueries(tx).map_user(user, agent.id, explicit=True)
        log.info("handoff.agent.slack_user_set", agent_id=agent.id)
        return agent

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

    async def remove_by(self, me: Agent, agent_id: int) -> Agent:
        """An admin removes an agent from the inbox: its sessions end with it. Nobody removes
        themself (no locking yourself out by a slip), and the last admin stays."""
        if agent_id == me.id:
            raise PermissionDenied("You cannot remove yourself; ask another admin.")
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            admins = await q.admin_ids()  # locked: concurrent removals see each other
            agent = await q.by_id(agent_id)
            if agent is None:
                raise NotFound(f"agent {agent_id} does not exist")
            if agent.is_admin and admins == [agent.id]:
                raise PermissionDenied("The last admin cannot be removed.")
            await q.remove(agent.id)
        log.info("handoff.agent.removed", agent_id=agent.id, by_agent_id=me.id)
        return agent

    async def set_avatar(self, agent: Agent, body: object) -> Agent:
        """`{"avatar_url": "https://..." | null}`: the picture visitors see next to the agent's
        messages (shown by the adapter script; a plain rasa-webchat shows none)."""
        if not isinstance(body, dict) or "avatar_url" not in body:
            raise InvalidInput('send {"avatar_url": "https://..."} or {"avatar_url": null}')
        avatar_url = check_avatar_url(body["avatar_url"])
        async with self.store.transaction() as tx:
            await AgentQueries(tx).set_avatar(agent.id, avatar_url)
        log.info("handoff.agent.avatar_set", agent_id=agent.id, has_avatar=avatar_url is not None)
        return replace(agent, avatar_url=avatar_url)

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
        """A new session, or PermissionDenied (wrong email or password, or throttled).

        The attempt is counted as a failure BEFORE the password is checked, in the transaction
        that checks the throttle: parallel guesses each take one of the allowed attempts, so
        no more than the limit are ever checked. A success takes its count back."""
        if not isinstance(email, str) or not isinstance(password, str) or not email.strip():
            raise InvalidInput('send {"email": "...", "password": "..."}')
        address = (normalize_email(email.strip()) or email.strip()).lower()
        keys = [account_key(address), address_key(client)]
        self.passwords.check_room()
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            wait = await self.throttle.attempt(q, keys, tx.clock())
            found = None if wait else await q.with_hash(address)
        if wait:
            log.warning("handoff.inbox.login_throttled", retry_after=round(wait))
            raise LoginThrottled(wait)
        ok = await self.passwords.verify(
            found[1] if found else None, password[:MAX_PASSWORD_LENGTH]
        )
        if not ok or found is None:
            log.warning("handoff.inbox.login_failed", known_account=found is not None)
            raise BadCredentials()
        async with self.store.transaction() as tx:
            q = AgentQueries(tx)
            agent, password_hash = found
            await self.throttle.succeeded(q, account_key(agent.email), address_key(client))
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
