"""The inbox's HTTP core: the JSON API under `api/`, the pages, and the assets.

`InboxApi.handle(request)` is all a web framework needs to call (see `channels/inbox.py`). It
checks the session (401 for the API, a redirect to the login page for pages), the CSRF token on
every state-changing request, and maps errors to statuses with a reason in the body.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone

import structlog

from handoff_plugin.addresses import check_http_url
from handoff_plugin.delivery.webhook_probe import send_test_webhook
from handoff_plugin.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    Unavailable,
)
from handoff_plugin.errors import PermissionDenied as Forbidden
from handoff_plugin.inbox import serialize
from handoff_plugin.inbox.admin import Team, actor, require_admin
from handoff_plugin.inbox.agents import (
    AgentService,
    BadCredentials,
    LoginBusy,
    LoginThrottled,
    csrf_matches,
)
from handoff_plugin.inbox.canned import CannedReplies
from handoff_plugin.inbox.conversations import (
    InboxConversations,
    parse_limit,
    parse_query,
    parse_status,
    parse_transcript_page,
)
from handoff_plugin.inbox.http import (
    COOKIE,
    SECURITY_HEADERS,
    Request,
    Response,
    SetCookie,
    StreamResponse,
    error,
    json_response,
    redirect,
)
from handoff_plugin.inbox.notes import InboxNotes
from handoff_plugin.inbox.pages import InboxPages
from handoff_plugin.inbox.review import parse_period, review, to_csv
from handoff_plugin.inbox.settings_form import SettingsRejected, save_settings, settings_view
from handoff_plugin.inbox.slack_app import CALLBACK_PATH, PICKER_PATH
from handoff_plugin.inbox.slack_connect import ConnectRefused, SlackConnect
from handoff_plugin.inbox.stream import LiveStream
from handoff_plugin.inbox.team_desk import TeamDesk, parse_presence
from handoff_plugin.inbox.typing import report_agent_typing
from handoff_plugin.models import AgentSession, Assignee, Cursor
from handoff_plugin.store.saved_settings import StoredSettings

log = structlog.get_logger(__name__)

Result = Response | StreamResponse
Handler = Callable[["Call"], Awaitable[Result]]
MAX_ID = 2**31 - 1
MAX_LOGIN_BODY = 4 * 1024  # an email and a password; larger is not a login


@dataclass(frozen=True)
class Call:
    """A request that passed the route's checks, with its path parameter and session."""

    request: Request
    session: AgentSession | None
    id: int = 0

    @property
    def me(self) -> AgentSession:
        assert self.session is not None
        return self.session


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    api: bool  # JSON API (401 when logged out) or page (redirect to login)
    public: bool = False  # needs no session


def _id(value: str) -> int:
    number = int(value)
    if number > MAX_ID:
        raise NotFound(f"conversation {value} does not exist")
    return number


class InboxApi:
    def __init__(
        self,
        *,
        agents: AgentService,
        conversations: InboxConversations,
        desk: TeamDesk,
        settings: StoredSettings,
        stream: LiveStream,
        pages: InboxPages,
        stopping: asyncio.Event,
        today: Callable[[], date] = lambda: datetime.now(timezone.utc).date(),
    ) -> None:
        self.agents = agents
        self.conversations = conversations
        self.desk = desk
        self.settings = settings
        self.stream = stream
        self.pages = pages
        self.stopping = stopping
        self.today = today
        self.team = Team(agents, conversations.store)
        self.notes = InboxNotes(conversations.store, conversations.livechat.broker)
        self.canned = CannedReplies(conversations.store, settings)
        self.slack = SlackConnect(conversations.store, settings)
        n = r"([0-9]{1,12})"  # ASCII digits only (\d also matches "³", which int() refuses)
        table: list[tuple[str, str, Handler, bool, bool]] = [
            ("POST", "api/login", self.login, True, True),
            ("POST", "api/logout", self.logout, True, False),
            ("GET", "api/conversations", self.list_conversations, True, False),
            ("GET", f"api/conversations/{n}", self.get_conversation, True, False),
            ("POST", f"api/conversations/{n}/messages", self.send_message, True, False),
            ("POST", f"api/conversations/{n}/end", self.end_live_chat, True, False),
            ("POST", f"api/conversations/{n}/claim", self.claim, True, False),
            ("POST", f"api/conversations/{n}/release", self.release, True, False),
            ("POST", f"api/conversations/{n}/transfer", self.transfer, True, False),
            ("POST", f"api/conversations/{n}/typing", self.typing, True, False),
            ("PUT", "api/profile", self.put_profile, True, False),
            ("POST", f"api/conversations/{n}/notes", self.add_note, True, False),
            ("GET", f"api/conversations/{n}/canned-replies", self.conversation_canned, True, False),
            ("GET", "api/canned-replies", self.list_canned, True, False),
            ("POST", "api/canned-replies", self.add_canned, True, False),
            ("PUT", f"api/canned-replies/{n}", self.update_canned, True, False),
            ("DELETE", f"api/canned-replies/{n}", self.delete_canned, True, False),
            ("GET", "api/settings", self.get_settings, True, False),
            ("PUT", "api/settings", self.put_settings, True, False),
            ("POST", "api/settings/webhook/test", self.test_webhook, True, False),
            ("GET", "api/settings/audit", self.settings_audit, True, False),
            ("POST", "api/settings/slack/connect", self.slack_connect, True, False),
            ("GET", "api/settings/slack/workspace", self.slack_workspace, True, False),
            ("PUT", "api/settings/slack/channel", self.slack_channel, True, False),
            ("GET", "api/agents", self.list_agents, True, False),
            ("GET", "api/teammates", self.teammates, True, False),
            ("GET", "api/presence", self.get_presence, True, False),
            ("PUT", "api/presence", self.put_presence, True, False),
            ("POST", "api/presence/activity", self.presence_activity, True, False),
            ("POST", "api/agents", self.add_agent, True, False),
            ("DELETE", f"api/agents/{n}", self.remove_agent, True, False),
            ("GET", "api/escalations", self.get_escalations, True, False),
            ("GET", "api/events", self.events, True, False),
            ("GET", "", self.inbox_page, False, False),
            ("GET", "conversations", self.inbox_page, False, False),
            ("GET", f"conversations/{n}", self.inbox_page, False, False),
            ("GET", "escalations", self.escalations_page, False, False),
            ("GET", "settings", self.settings_page, False, False),
            ("GET", PICKER_PATH, self.slack_page, False, False),
            ("GET", CALLBACK_PATH, self.slack_callback, False, False),
            ("GET", "login", self.login_page, False, True),
            ("GET", r"static/([A-Za-z0-9_.-]{1,64})", self.static, False, True),
        ]
        self.routes = [
            Route(method, re.compile(pattern + "/?"), handler, api, public)
            for method, pattern, handler, api, public in table
        ]

    # --- dispatch ---

    async def handle(self, request: Request) -> Result:
        try:
            result = await self._dispatch(request)
        except SettingsRejected as e:
            result = error(400, str(e), field=e.field)
        except LoginThrottled as e:
            result = error(429, str(e))
            result.headers["Retry-After"] = str(max(1, round(e.retry_after)))
        except LoginBusy as e:
            result = error(503, str(e))
            result.headers["Retry-After"] = "1"
        except BadCredentials as e:
            result = error(401, str(e))
        except Forbidden as e:
            result = error(403, str(e))
        except (InvalidInput, ConfigurationError) as e:
            result = error(400, str(e))
        except NotFound as e:
            result = error(404, str(e))
        except Conflict as e:  # e.g. another agent handles the conversation: who, in `assignee`
            result = error(409, str(e), **e.detail)
        except Unavailable as e:  # e.g. the Rasa agent is still loading, the database restarting
            log.warning("handoff.inbox.unavailable", path=request.path, reason=str(e))
            result = error(503, str(e))
            result.headers["Retry-After"] = "1"
        except Exception:
            log.exception("handoff.inbox.request_failed", method=request.method, path=request.path)
            result = error(500, "Something went wrong on the server; the log has the details.")
        for name, value in SECURITY_HEADERS.items():
            result.headers.setdefault(name, value)
        result.headers.setdefault("Cache-Control", "no-store")
        return result

    async def _dispatch(self, request: Request) -> Result:
        path = request.path.strip("/")
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            session = None if route.public else await self._session(request)
            if session is None and not route.public:
                if route.api:
                    return error(401, "Not logged in. POST your email and password to api/login.")
                return self.pages.to_login(path)
            if route.api and request.method != "GET" and not route.public:
                assert session is not None
                if not csrf_matches(session, request.headers.get("x-csrf-token")):
                    log.warning("handoff.inbox.csrf_rejected", path=path)
                    return error(403, "Missing or wrong X-CSRF-Token header.")
            ident = _id(found.group(1)) if found.groups() and found.group(1).isdigit() else 0
            return await route.handler(Call(request, session, ident))
        if allowed:
            result = error(405, f"use {' or '.join(sorted(set(allowed)))} here")
            result.headers["Allow"] = ", ".join(sorted(set(allowed)))
            return result
        if path.startswith("api/") or path == "api":
            return error(404, f"there is no API endpoint {path!r}; see the README")
        return Response(404, b"Not found", "text/plain; charset=utf-8")

    async def _session(self, request: Request) -> AgentSession | None:
        return await self.agents.session(request.cookies.get(COOKIE))

    def _cookie(self, request: Request, token: str, max_age: int | None = None) -> SetCookie:
        return SetCookie(COOKIE, token, self.pages.base + "/", request.secure, max_age)

    # --- agents ---

    async def login(self, call: Call) -> Result:
        request = call.request
        if not request.is_json:
            return error(415, "Send the login as JSON (Content-Type: application/json).")
        if len(request.body) > MAX_LOGIN_BODY:
            return error(413, f"A login is at most {MAX_LOGIN_BODY // 1024} KB of JSON.")
        body = request.json()
        if not isinstance(body, dict):
            raise InvalidInput('send {"email": "...", "password": "..."}')
        login = await self.agents.login(body.get("email"), body.get("password"), request.client)
        old = request.cookies.get(COOKIE)
        if old:
            await self.agents.logout(old)
        response = json_response(
            {
                "csrf_token": login.session.csrf_token,
                "agent": login.session.agent.as_json(),
            }
        )
        response.cookies.append(self._cookie(request, login.token))
        return response

    async def logout(self, call: Call) -> Result:
        await self.agents.logout(call.request.cookies.get(COOKIE, ""))
        log.info("handoff.inbox.logged_out", agent_id=call.me.agent.id)
        response = json_response({"ok": True})
        response.cookies.append(self._cookie(call.request, "", max_age=0))
        return response

    # --- conversations ---

    async def list_conversations(self, call: Call) -> Result:
        query = call.request.query
        cursor = Cursor.decode(query["cursor"]) if query.get("cursor") else None
        page = await self.conversations.page(
            call.me.agent,
            parse_status(query.get("status")),
            parse_query(query.get("q")),
            cursor,
            parse_limit(query.get("limit")),
        )
        return json_response(serialize.page_json(page))

    async def get_conversation(self, call: Call) -> Result:
        query = call.request.query
        before, limit = parse_transcript_page(query.get("before_seq"), query.get("limit"))
        detail = await self.conversations.detail(call.me.agent, call.id, before, limit)
        return json_response(serialize.detail_json(detail))

    async def send_message(self, call: Call) -> Result:
        body = call.request.json()
        if not isinstance(body, dict):
            raise InvalidInput('send {"text": "..."}')
        message = await self.conversations.send(call.me.agent, call.id, body.get("text"))
        return json_response({"message": message.as_json(), "state": "live"}, 201)

    async def end_live_chat(self, call: Call) -> Result:
        if not await self.conversations.end(call.me.agent, call.id):
            return error(409, f"Conversation {call.id} is not in live chat.")
        return json_response({"ended": True, "state": "bot"})

    async def claim(self, call: Call) -> Result:
        """Take the conversation (`{"take_over": true}` from another agent, who is told)."""
        body = call.request.json() if call.request.body else {}
        if not isinstance(body, dict) or not isinstance(body.get("take_over", False), bool):
            raise InvalidInput('send nothing, or {"take_over": true} to take it from another agent')
        await self.conversations.claim(
            call.me.agent, call.id, take_over=body.get("take_over", False)
        )
        return json_response({"assignee": Assignee.of(call.me.agent).as_json()})

    async def release(self, call: Call) -> Result:
        await self.conversations.release(call.me.agent, call.id)
        return json_response({"assignee": None})

    async def transfer(self, call: Call) -> Result:
        body = call.request.json()
        if not isinstance(body, dict):
            raise InvalidInput('send {"agent_email": "...", "note": "..."} (note is optional)')
        new = await self.conversations.transfer(
            call.me.agent, call.id, body.get("agent_email"), body.get("note")
        )
        return json_response({"assignee": new.as_json()})

    async def typing(self, call: Call) -> Result:
        """`{"typing": true|false}`: the visitor sees "<name> is typing…" (or no longer)."""
        body = call.request.json() if call.request.body else None
        typing = await report_agent_typing(self.conversations, call.me.agent, call.id, body)
        return json_response({"typing": typing})

    async def put_profile(self, call: Call) -> Result:
        """`{"avatar_url": "https://..." | null}`: the picture visitors see next to my messages."""
        agent = await self.agents.set_avatar(call.me.agent, call.request.json())
        return json_response({"agent": agent.as_json()})

    async def add_note(self, call: Call) -> Result:
        """An internal note for the other agents: the visitor never sees it; claims nothing."""
        body = call.request.json()
        if not isinstance(body, dict):
            raise InvalidInput('send {"text": "..."}')
        note = await self.notes.add(call.me.agent, call.id, body.get("text"))
        return json_response({"note": note.as_json()}, 201)

    # --- canned replies (every agent reads them; admins change them) ---

    async def list_canned(self, call: Call) -> Result:
        return json_response(await self.canned.all())

    async def conversation_canned(self, call: Call) -> Result:
        return json_response(await self.canned.for_conversation(call.me.agent, call.id))

    async def add_canned(self, call: Call) -> Result:
        reply = await self.canned.add(call.me.agent, call.request.json())
        return json_response({"reply": reply.as_json()}, 201)

    async def update_canned(self, call: Call) -> Result:
        reply = await self.canned.update(call.me.agent, call.id, call.request.json())
        return json_response({"reply": reply.as_json()})

    async def delete_canned(self, call: Call) -> Result:
        reply = await self.canned.delete(call.me.agent, call.id)
        return json_response({"removed": reply.as_json()})

    # --- settings ---

    async def get_settings(self, call: Call) -> Result:
        return json_response(settings_view(await self.settings.current()))

    async def put_settings(self, call: Call) -> Result:
        require_admin(call.me.agent, "change settings")
        saved = await save_settings(self.settings, call.request.json(), actor(call.me.agent))
        log.info("handoff.inbox.settings_saved", agent_id=call.me.agent.id)
        return json_response(settings_view(saved))

    async def settings_audit(self, call: Call) -> Result:
        return json_response(await self.team.audit(call.me.agent, dict(call.request.query)))

    async def test_webhook(self, call: Call) -> Result:
        require_admin(call.me.agent, "send test webhooks")
        body = call.request.json() if call.request.body else {}
        if not isinstance(body, dict):
            raise InvalidInput('send {"url": "..."} or nothing')
        settings = await self.settings.current()
        url = body.get("url") or settings.webhook.url
        if not url:
            raise SettingsRejected("Set the webhook URL first.", "webhook.url")
        if not isinstance(url, str):
            raise SettingsRejected("webhook.url must be a string", "webhook.url")
        try:
            check_http_url(url)  # length first: a 250 KB value is refused without parsing
        except ValueError as exc:
            raise SettingsRejected(f"webhook.url {exc}", "webhook.url") from None
        result = await send_test_webhook(settings, url)
        return json_response(result.as_dict())

    # --- Connect to Slack (admins; see slack_connect.py) ---

    async def slack_connect(self, call: Call) -> Result:
        """Slack's authorize URL with a fresh state; the page sends the browser there."""
        return json_response({"authorize_url": await self.slack.start(call.me)})

    async def slack_callback(self, call: Call) -> Result:
        """Slack sends the admin's browser back here (the app's OAuth Redirect URL)."""
        try:
            await self.slack.finish(call.me, call.request.query)
        except ConnectRefused as refused:
            page = self.pages.app(
                call.me,
                "slack",
                await self._chatbot_name(),
                problem={"title": refused.title, "message": str(refused)},
            )
            page.status = refused.status
            return page
        # A reload of the picker must not replay the code: the picker is another URL.
        return redirect(f"{self.pages.base}/{PICKER_PATH}?connected=1")

    async def slack_page(self, call: Call) -> Result:
        name = await self._chatbot_name()
        if not call.me.agent.is_admin:
            problem = {
                "title": "Only admins can connect Slack",
                "message": "Only admins can connect Slack or choose its channel. Ask an admin "
                "of this inbox.",
            }
            page = self.pages.app(call.me, "slack", name, problem=problem)
            page.status = 403
            return page
        connected = call.request.query.get("connected") == "1"
        return self.pages.app(call.me, "slack", name, problem=None, connected=connected)

    async def slack_workspace(self, call: Call) -> Result:
        return json_response(await self.slack.workspace(call.me))

    async def slack_channel(self, call: Call) -> Result:
        chosen = await self.slack.choose(call.me, call.request.json())
        return json_response(
            {
                "channel": chosen.channel,
                "joined": chosen.joined,
                "join_error": chosen.join_error,
                "settings": settings_view(chosen.settings),
            }
        )

    # --- agents (admins) ---

    async def list_agents(self, call: Call) -> Result:
        """Every agent sees the team's presence and live chats; admins also roles and logins."""
        desk = {m.agent.agent_id: m.as_json() for m in await self.desk.members()}
        if not call.me.agent.is_admin:
            return json_response({"agents": list(desk.values())})
        members = (await self.team.members(call.me.agent))["agents"]
        return json_response({"agents": [{**desk.get(m["id"], {}), **m} for m in members]})

    async def teammates(self, call: Call) -> Result:
        """Every agent may see the team (to transfer a conversation); no roles, no logins."""
        return json_response(
            {
                "agents": [
                    {**m.as_json(), "handling": m.live_chats} for m in await self.desk.members()
                ]
            }
        )

    # --- presence ---

    async def get_presence(self, call: Call) -> Result:
        return json_response((await self.desk.me(call.me.agent)).as_json())

    async def put_presence(self, call: Call) -> Result:
        """`{"status": "online" | "away" | "offline"}`: the status the agent chooses."""
        status = parse_presence(call.request.json() if call.request.body else None)
        return json_response((await self.desk.set_presence(call.me.agent, status)).as_json())

    async def presence_activity(self, call: Call) -> Result:
        """The open page saw a click or a keystroke: the agent is not idle."""
        await self.desk.seen(call.me.agent, active=True)
        return json_response((await self.desk.me(call.me.agent)).as_json())

    async def add_agent(self, call: Call) -> Result:
        return json_response(await self.team.add(call.me.agent, call.request.json()), 201)

    async def remove_agent(self, call: Call) -> Result:
        return json_response(await self.team.remove(call.me.agent, call.id))

    # --- escalation review ---

    async def get_escalations(self, call: Call) -> Result:
        query = call.request.query
        period = parse_period(query.get("from"), query.get("to"), self.today())
        report = await review(self.conversations.store, period)
        fmt = query.get("format") or "json"
        if fmt == "csv":
            require_admin(call.me.agent, "export escalations")
            name = f"escalations-{period.first}-{period.last}.csv"
            return Response(
                200,
                to_csv(report).encode("utf-8"),
                "text/csv; charset=utf-8",
                {"Content-Disposition": f'attachment; filename="{name}"'},
            )
        if fmt != "json":
            raise InvalidInput(f"format must be json or csv, not {fmt!r}")
        return json_response(serialize.review_json(report))

    # --- live events ---

    async def events(self, call: Call) -> Result:
        token = call.request.cookies.get(COOKIE)

        agent = call.me.agent

        async def still_logged_in() -> bool:
            if await self.agents.session(token) is None:
                return False
            await self.desk.seen(agent)  # an open page keeps its agent present
            return True

        await self.desk.seen(agent, opened=True)
        log.info("handoff.inbox.stream_opened", agent_id=agent.id)
        return StreamResponse(
            self.stream.events(still_logged_in, self.stopping),
            {"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # --- pages ---

    async def _chatbot_name(self) -> str:
        return (await self.settings.current()).chatbot.name

    async def inbox_page(self, call: Call) -> Result:
        return self.pages.app(
            call.me, "inbox", await self._chatbot_name(), conversation_id=call.id or None
        )

    async def escalations_page(self, call: Call) -> Result:
        return self.pages.app(call.me, "escalations", await self._chatbot_name())

    async def settings_page(self, call: Call) -> Result:
        return self.pages.app(call.me, "settings", await self._chatbot_name())

    async def login_page(self, call: Call) -> Result:
        wanted = self.pages.safe_next(call.request.query.get("next"))
        if await self._session(call.request) is not None:
            return redirect(wanted)
        return self.pages.login(wanted, await self._chatbot_name())

    async def static(self, call: Call) -> Result:
        name = call.request.path.strip("/").split("/", 1)[1]
        asset = self.pages.asset(name)
        if asset is None:
            return Response(404, b"Not found", "text/plain; charset=utf-8")
        return asset
