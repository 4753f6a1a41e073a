"""The typed, validated settings of rasa-handoff.

Sources, later wins: built-in defaults -> `handoff.yml` -> env vars `HANDOFF_<SECTION>_<KEY>` ->
values saved from the inbox (passed in as `overrides`). Everything is validated once, here; the rest
of the code receives a frozen `Settings` and never reads `os.environ`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, root_validator, validator

from handoff_plugin.addresses import check_http_url, normalize_email
from handoff_plugin.config.business_hours import BusinessHours, parse_windows, timezone_named
from handoff_plugin.config.section import Invalid as _Invalid
from handoff_plugin.config.section import Section as _Section
from handoff_plugin.config.security import SecuritySettings
from handoff_plugin.config.texts import LocalizationSettings, Texts
from handoff_plugin.errors import ConfigurationError

CONFIG_PATH_ENV = "HANDOFF_CONFIG"
DEFAULT_CONFIG_FILE = "handoff.yml"
ENV_PREFIX = "HANDOFF_"


def _check_url(value: str, key: str) -> str:
    if value:
        check_http_url(value, f"https://example.com/{key}")
    return value.rstrip("/") if key == "public_url" else value


class EscalationsSettings(_Section):
    enabled: bool = True


class ChatbotSettings(_Section):
    id: str = "rasa-bot"
    name: str = "Assistant"

    @validator("id", "name")
    def _not_empty(cls, value: str) -> str:  # noqa: N805
        if not value:
            raise ValueError("must not be empty")
        return value


class InboxSettings(_Section):
    public_url: str = "http://localhost:5005/webhooks/inbox"
    # An agent's login ends after this many hours whatever the activity (idle logins end sooner).
    session_max_hours: float = Field(default=24.0, gt=0, le=24 * 365)

    @validator("public_url")
    def _url(cls, value: str) -> str:  # noqa: N805
        if not value:
            raise ValueError("must not be empty: agents open links to it from notifications")
        return _check_url(value, "public_url")


class ActionsSettings(_Section):
    """The action server (`rasa run actions`): Rasa must send this token with every call."""

    # Rasa's action_endpoint sends it as the `token` query parameter (endpoints.yml `token:`).
    # Empty: the action server refuses every action call (secure by default).
    token: SecretStr = SecretStr("")


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///.handoff/handoff.db"

    @validator("url")
    def _async_driver(cls, value: str) -> str:  # noqa: N805
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value[len("sqlite:///") :]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/handoff.db or postgresql+asyncpg://user:pass@host/db"
            )
        return value


class RedisSettings(_Section):
    """Shared state between replicas (see README, "Scale-out"); empty: one process, no Redis."""

    url: str = ""

    @validator("url")
    def _redis_url(cls, value: str) -> str:  # noqa: N805
        value = value.strip()
        if value and not re.fullmatch(r"(rediss?://[^\s/]+(/\d+)?/?|unix:///\S+)", value):
            raise ValueError(
                "use redis://host:6379/0 (rediss:// for TLS, redis://:password@host:6379/0 "
                "with a password, unix:///path/to/redis.sock), or leave it empty for one process"
            )
        return value


def _split_recipients(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split(";") if isinstance(value, str) else list(value)
    addresses = []
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        if normalize_email(part) is None:
            raise ValueError(f'"{part}" is not an email address. Separate addresses with ";".')
        addresses.append(part)
    return tuple(addresses)


class EmailSettings(_Section):
    enabled: bool = False
    recipients: tuple[str, ...] = ()
    round_robin: bool = False
    from_address: str = Field(default="handoff@localhost", alias="from")
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = Field(default=10.0, gt=0)
    # Send smtp_username/password over a connection without TLS (only for a server on a trusted
    # network that offers no STARTTLS); refused by default.
    smtp_allow_plaintext_auth: bool = False

    _recipients = validator("recipients", pre=True, allow_reuse=True)(_split_recipients)

    @root_validator(skip_on_failure=True)
    def _enabled_needs_recipients(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if values["enabled"] and not values["recipients"]:
            raise _Invalid(
                "email.enabled is true but email.recipients is empty. "
                'Set HANDOFF_EMAIL_RECIPIENTS to "a@example.com; b@example.com".',
                key="recipients",
            )
        if values["smtp_starttls"] and values["smtp_tls"]:
            raise _Invalid(
                "email.smtp_starttls and email.smtp_tls exclude each other; pick one",
                key="smtp_starttls",
            )
        return values


class SlackSettings(_Section):
    enabled: bool = False
    bot_token: SecretStr = SecretStr("")
    channel: str = ""
    api_url: str = "https://slack.com/api/"
    timeout: float = Field(default=10.0, gt=0)
    # Answering from Slack (two-way): the app's Signing Secret verifies every request Slack sends
    # to /webhooks/slack/*; empty, those endpoints refuse everything and nothing is mirrored.
    signing_secret: SecretStr = SecretStr("")
    # A thread reply starting with this (any case, after leading spaces) stays in Slack and the
    # inbox as an internal note: it never reaches the visitor.
    note_prefix: str = "note:"
    # "Connect to Slack" (OAuth v2 install): the app's Client ID and Client Secret (Basic
    # Information page, "App Credentials"); both or neither.
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")

    @property
    def two_way(self) -> bool:
        """Thread replies reach visitors: Slack is on and requests can be verified."""
        return self.enabled and bool(self.signing_secret.get_secret_value())

    @validator("note_prefix")
    def _note_prefix(cls, value: str) -> str:  # noqa: N805
        if not value.strip():
            raise ValueError(
                'must not be empty: thread replies starting with it (default "note:") stay '
                "internal and never reach the visitor"
            )
        return value.strip()

    @validator("client_id")
    def _client_id(cls, value: str) -> str:  # noqa: N805
        if value and not re.fullmatch(r"[0-9]{3,40}\.[0-9]{3,40}", value):
            raise ValueError(
                "must be the Client ID from the Slack app's Basic Information page "
                "(App Credentials), two numbers joined by a dot like 1234567890.9876543210, "
                "or empty"
            )
        return value

    @validator("client_secret")
    def _client_secret(cls, value: SecretStr) -> SecretStr:  # noqa: N805
        secret = value.get_secret_value()
        if secret and not re.fullmatch(r"[A-Za-z0-9]{16,128}", secret):
            raise ValueError(
                "must be the Client Secret from the Slack app's Basic Information page "
                "(App Credentials): letters and digits only, 16 or more, or empty"
            )
        return value

    @validator("api_url")
    def _api_url(cls, value: str) -> str:  # noqa: N805
        if not value:
            raise ValueError("must not be empty; Slack's is https://slack.com/api/")
        value = _check_url(value, "api")
        return value if value.endswith("/") else value + "/"

    @root_validator(skip_on_failure=True)
    def _enabled_needs_token(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if values["enabled"] and not (values["bot_token"].get_secret_value() and values["channel"]):
            raise _Invalid(
                "slack.enabled is true but slack.bot_token or slack.channel is empty. Create a Slack "
                "app with the chat:write scope, install it, invite the bot to the channel, then set "
                'HANDOFF_SLACK_BOT_TOKEN and HANDOFF_SLACK_CHANNEL (see README, "Slack").',
                key="enabled",  # the switch the inbox shows the reason next to
            )
        has_id, has_secret = (
            bool(values["client_id"]),
            bool(values["client_secret"].get_secret_value()),
        )
        if has_id != has_secret:
            missing = "client_secret" if has_id else "client_id"
            raise _Invalid(
                f"slack.{missing} is empty but slack.{'client_id' if has_id else 'client_secret'} "
                "is set: Connect to Slack needs both (the Slack app's Basic Information page, "
                f"App Credentials); set HANDOFF_SLACK_{missing.upper()} or clear the other",
                key=missing,
            )
        return values


class WebhookSettings(_Section):
    enabled: bool = False
    url: str = ""
    secret: SecretStr = SecretStr("")
    # Secrets being rotated out, ";"-separated: each also signs `webhook-signature`, so a receiver
    # still holding an old one keeps verifying until it has the new `secret`.
    previous_secrets: SecretStr = SecretStr("")
    timeout: float = Field(default=10.0, gt=0)
    # Off: a URL whose host is (or resolves to) a loopback, private, link-local or other
    # non-public address is refused before connecting (SSRF). Local receivers need it on.
    allow_private_addresses: bool = False

    @validator("url")
    def _url(cls, value: str) -> str:  # noqa: N805
        return _check_url(value, "url")

    def signing_secrets(self) -> tuple[str, ...]:
        """The secret, then the previous ones; empty when the webhook is not signed."""
        current = self.secret.get_secret_value()
        if not current:
            return ()
        previous = self.previous_secrets.get_secret_value().split(";")
        return (current, *(p.strip() for p in previous if p.strip() and p.strip() != current))

    @root_validator(skip_on_failure=True)
    def _enabled_needs_url(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if values["enabled"] and not values["url"]:
            raise _Invalid(
                "webhook.enabled is true but webhook.url is empty; set HANDOFF_WEBHOOK_URL",
                key="url",
            )
        return values


class DeliverySettings(_Section):
    """How the dispatcher delivers notifications: retries, leases, polling."""

    # Transient failures are retried after retry_initial_delay, doubling up to retry_max_delay
    # (each +-20 % jitter), until give_up_after seconds have passed since the row was queued.
    retry_initial_delay: float = Field(default=10.0, gt=0)
    retry_max_delay: float = Field(default=4 * 3600.0, gt=0)
    give_up_after: float = Field(default=24 * 3600.0, gt=0)
    # A claimed delivery belongs to one process for this long; after that (the process died) any
    # process may send it again.
    lease_seconds: float = Field(default=120.0, ge=1)
    # How often a dispatcher looks for due deliveries queued by other processes.
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    # Sends in flight at once per process and notifier kind (a receiver that hangs fills its
    # own kind's slots, never the others').
    concurrency: int = Field(default=8, ge=1, le=100)

    @root_validator(skip_on_failure=True)
    def _schedule(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if values["retry_max_delay"] < values["retry_initial_delay"]:
            raise _Invalid(
                "delivery.retry_max_delay must be at least delivery.retry_initial_delay "
                f"({values['retry_initial_delay']:g} s)",
                key="retry_max_delay",
            )
        return values


class LivechatSettings(_Section):
    session_secret: SecretStr = SecretStr("")
    cors_allowed_origins: tuple[str, ...] = ()
    socket_path: str = "/socket.io"
    max_message_length: int = Field(default=2000, ge=1, le=100_000)
    rate_limit_burst: int = Field(default=10, ge=1)
    rate_limit_per_minute: int = Field(default=30, ge=1)
    # One client address (a household or an office behind NAT) shares these.
    rate_limit_per_address_burst: int = Field(default=30, ge=1)
    rate_limit_per_address_per_minute: int = Field(default=120, ge=1)
    sessions_per_address_per_minute: int = Field(default=20, ge=1)
    sockets_per_address: int = Field(default=20, ge=1)
    trusted_proxy_header: str = ""
    webchat_script: str = "vendor/rasa-webchat/index.js"
    # A visitor's session id not seen for this many days starts a new conversation.
    session_idle_days: float = Field(default=30.0, gt=0, le=3650)
    # A live chat whose visitor wrote nothing for this many minutes ends by itself (0: never).
    idle_close_after: float = Field(default=30.0, ge=0, le=7 * 24 * 60)
    # After End Live Chat the visitor is asked once how it went (five answers, then a comment).
    csat: bool = True
    # At End Live Chat the visitor gets the chat's transcript by email (the email section's SMTP
    # server, even with team email notifications off), through the outbox.
    transcript_email: bool = False

    @validator("trusted_proxy_header")
    def _header(cls, value: str) -> str:  # noqa: N805
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9-]+", value):
            raise ValueError(
                "must be an HTTP header name such as X-Forwarded-For or X-Real-IP, "
                "or empty to use the connection's own address"
            )
        return value

    @validator("cors_allowed_origins", pre=True)
    def _origins(cls, value: Any) -> tuple[str, ...]:  # noqa: N805
        parts = value.split(";") if isinstance(value, str) else list(value or ())
        origins = tuple(p.strip().rstrip("/") for p in parts if p.strip())
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[^\s/]+", origin):
                raise ValueError(
                    f'"{origin}" is not an origin like https://www.example.com '
                    '(scheme and host, no path); separate origins with ";" or use "*" for any'
                )
        return origins

    @validator("session_secret")
    def _long_secret(cls, value: SecretStr) -> SecretStr:  # noqa: N805
        if value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ValueError(
                "use at least 16 characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
                "or leave it empty to have one generated and kept in the database"
            )
        return value

    @validator("socket_path")
    def _path(cls, value: str) -> str:  # noqa: N805
        if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", value):
            raise ValueError('must be a URL path starting with "/", e.g. /socket.io')
        return value.rstrip("/") or "/socket.io"


class BusinessHoursSettings(_Section):
    # Off: always open. On: outside the windows the confirmation says when the team is back.
    enabled: bool = False
    timezone: str = "UTC"
    windows: str = "mon-fri 09:00-17:00"

    @validator("timezone")
    def _timezone(cls, value: str) -> str:  # noqa: N805
        timezone_named(value.strip())
        return value.strip()

    @validator("windows")
    def _windows(cls, value: str) -> str:  # noqa: N805
        parse_windows(value)
        return value.strip()

    def hours(self) -> BusinessHours | None:
        """The opening hours, or None when the team counts as always open."""
        return BusinessHours.parse(self.timezone, self.windows) if self.enabled else None


class PresenceSettings(_Section):
    # An agent whose open inbox page saw no keystroke or click for this many minutes is away.
    away_after: float = Field(default=10.0, gt=0, le=24 * 60)


class RoutingSettings(_Section):
    # On: a new escalation goes to the online agent with the fewest live chats.
    auto_assign: bool = False
    max_live_chats: int = Field(default=3, ge=1, le=100)
    # Minutes without an agent reply after which the visitor is told the team follows up by
    # email (0: never); hours after which an unanswered escalation is closed (0: never).
    unanswered_after: float = Field(default=15.0, ge=0, le=7 * 24 * 60)
    abandon_after: float = Field(default=24.0, ge=0, le=24 * 365)


class Settings(_Section):
    escalations: EscalationsSettings = EscalationsSettings()
    chatbot: ChatbotSettings = ChatbotSettings()
    inbox: InboxSettings = InboxSettings()
    database: DatabaseSettings = DatabaseSettings()
    actions: ActionsSettings = ActionsSettings()
    email: EmailSettings = EmailSettings()
    slack: SlackSettings = SlackSettings()
    webhook: WebhookSettings = WebhookSettings()
    delivery: DeliverySettings = DeliverySettings()
    livechat: LivechatSettings = LivechatSettings()
    redis: RedisSettings = RedisSettings()
    localization: LocalizationSettings = LocalizationSettings()
    security: SecuritySettings = SecuritySettings()
    business_hours: BusinessHoursSettings = BusinessHoursSettings()
    presence: PresenceSettings = PresenceSettings()
    routing: RoutingSettings = RoutingSettings()

    @root_validator(skip_on_failure=True)
    def _lease_outlasts_sends(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        lease = values["delivery"].lease_seconds
        for key, timeout in (
            ("email.smtp_timeout", values["email"].smtp_timeout),
            ("slack.timeout", values["slack"].timeout),
            ("webhook.timeout", values["webhook"].timeout),
        ):
            if values[key.split(".")[0]].enabled and timeout >= lease:
                raise _Invalid(
                    f"delivery.lease_seconds ({lease:g}) must be longer than {key} ({timeout:g}), "
                    "or a slow send could be claimed and sent again by another process",
                    key=key,
                )
        return values

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets shown only as set / not set, passwords
        inside URLs masked; the webhook URL counts as a secret (it often carries a token)."""

        def plain(value: Any) -> Any:
            if isinstance(value, SecretStr):
                return "********" if value.get_secret_value() else ""
            if isinstance(value, str) and "://" in value:
                return mask_url_password(value)
            if isinstance(value, BaseModel):
                return {k: plain(v) for k, v in value.dict(by_alias=True).items()}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            return value

        out: dict[str, Any] = {}
        for name in self.__fields__:
            section = getattr(self, name)
            out[name] = {
                field.alias: plain(getattr(section, key))
                for key, field in section.__fields__.items()
            }
        out["webhook"]["url"] = "********" if self.webhook.url else ""
        return out


def mask_url_password(url: str) -> str:
    """`scheme://user:pass@host/...` -> `scheme://user:********@host/...`; others unchanged."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/]*@", r"\1:********@", url)


class SettingsProvider(Protocol):
    """Where services get the settings in force for the next operation."""

    async def current(self) -> Settings: ...

    async def recent(self) -> Settings:
        """`current()`, or what it gave up to about a second ago (for checks on every message)."""
        ...


class StaticSettings:
    """Settings fixed for the life of the process (tests, and before the database is open)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def current(self) -> Settings:
        return self._settings

    async def recent(self) -> Settings:
        return self._settings


def _field_keys(section: type[BaseModel]) -> dict[str, str]:
    """Map of the names a user writes (alias) to pydantic field names."""
    return {field.alias: name for name, field in section.__fields__.items()}


SECTIONS: dict[str, type[BaseModel]] = {
    name: field.type_ for name, field in Settings.__fields__.items()
}
# The saved settings encrypted at rest (store/secret_box.py): every secret, and the webhook URL,
# which often carries a token.
SECRET_KEYS: frozenset[tuple[str, str]] = frozenset(
    {
        (section, field.alias)
        for section, model in SECTIONS.items()
        for field in model.__fields__.values()
        if field.type_ is SecretStr
    }
    | {("webhook", "url")}
)
# Sections configured as a nested document only (not one env var per key).
_FILE_ONLY_SECTIONS = {"localization"}


def env_settings(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`HANDOFF_EMAIL_SMTP_HOST=x` -> {"email": {"smtp_host": "x"}}; unknown names are errors."""
    known: dict[str, tuple[str, str]] = {}
    for section, model in SECTIONS.items():
        if section in _FILE_ONLY_SECTIONS:
            continue
        for alias in _field_keys(model):
            known[f"{ENV_PREFIX}{section}_{alias}".upper()] = (section, alias)
    result: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_PATH_ENV:
            continue
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f" Did you mean {hint[0]}?" if hint else ""
            raise ConfigurationError(
                f"handoff: unknown environment variable {name}.{suggestion} "
                "Settings are named HANDOFF_<SECTION>_<KEY>, see README, 'Settings'.",
                field=name,
                allowed=hint[0] if hint else None,
            )
        section, alias = known[name]
        result.setdefault(section, {})[alias] = value
    return result


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def check_known_keys(data: Mapping[str, Any], origin: str) -> None:
    for section, values in data.items():
        if section not in SECTIONS:
            hint = difflib.get_close_matches(section, SECTIONS, n=1)
            raise ConfigurationError(
                f"handoff: unknown section {section!r} in {origin}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" Allowed: {', '.join(SECTIONS)}.",
                field=str(section),
                allowed=", ".join(SECTIONS),
            )
        if not isinstance(values, Mapping):
            raise ConfigurationError(
                f"handoff: section {section!r} in {origin} must be a mapping of keys to values",
                field=section,
                allowed="a mapping of keys to values",
            )
        keys = _field_keys(SECTIONS[section])
        for key in values:
            if key not in keys:
                hint = difflib.get_close_matches(str(key), keys, n=1)
                raise ConfigurationError(
                    f"handoff: unknown setting {section}.{key} in {origin}"
                    + (f"; did you mean {section}.{hint[0]}?" if hint else "")
                    + f" Allowed in {section}: {', '.join(keys)}.",
                    field=f"{section}.{key}",
                    allowed=", ".join(keys),
                )


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"handoff: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"handoff: {path} must contain a mapping of sections")
    check_known_keys(data, str(path))
    return data


def _lookup(data: Mapping[str, Any], loc: tuple[Any, ...]) -> Any:
    value: Any = data
    for part in loc:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def _shown(key: str, value: Any) -> Any:
    """The value as an error may repeat it: secrets never."""
    if isinstance(value, SecretStr) or any(s in key for s in ("password", "secret", "token")):
        return "********"
    if key == "webhook.url" and value:
        return "********"
    if isinstance(value, str) and "://" in value:
        return mask_url_password(value)
    if isinstance(value, str) and len(value) > 200:  # a 250 KB value is named, not repeated
        return f"{value[:60]}... ({len(value)} characters)"
    return value


def _describe(
    error: ValidationError, data: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> ConfigurationError:
    """One line per problem; `field`, `value` and `allowed` describe the first."""
    lines = []
    first: dict[str, Any] = {}
    for item in error.errors():
        loc = tuple(str(p) for p in item["loc"] if p != "__root__")
        message = item["msg"]
        if item["loc"][-1] == "__root__" or not loc:
            # A model-wide check names the key it is about (see `_Invalid`).
            about = item.get("ctx", {}).get("key")
            loc += tuple(about.split(".")) if about else ()
            lines.append(f"handoff: invalid settings: {message}")
        else:
            key = ".".join(prefix + loc)
            value = _shown(key, _lookup(data, loc))
            shown = f'"{value}"' if isinstance(value, str) else repr(value)
            lines.append(f"handoff: invalid setting {key} = {shown}\n  {message}")
        if not first:
            field = ".".join(prefix + loc) or None
            value = _shown(field or "", _lookup(data, loc)) if loc else None
            first = {"field": field, "value": value, "allowed": message}
    return ConfigurationError("\n".join(lines), **first)


def build_settings(*layers: Mapping[str, Any]) -> Settings:
    """Merge layers (later wins) and validate; errors name the key, the value and what is allowed."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer)
    try:
        return Settings.parse_obj(merged)
    except ValidationError as exc:
        raise _describe(exc, merged) from None


def check_texts(language: str, texts: Mapping[str, Any]) -> Texts:
    """One language's texts; the error's field is `localization.texts.<language>.<key>`."""
    try:
        return Texts.parse_obj(texts)
    except ValidationError as exc:
        raise _describe(exc, texts, ("localization", "texts", language)) from None


def base_layers(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> list[dict[str, Any]]:
    """The file and env layers, read once at start-up (defaults are the models' own)."""
    environ = os.environ if environ is None else environ
    if config_path is None:
        explicit = environ.get(CONFIG_PATH_ENV)
        config_path = Path(explicit or DEFAULT_CONFIG_FILE)
        if explicit and not config_path.is_file():
            raise ConfigurationError(f"handoff: {CONFIG_PATH_ENV}={explicit} but no file is there")
    file_layer = read_config_file(config_path) if config_path.is_file() else {}
    return [file_layer, env_settings(environ)]


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults -> handoff.yml -> HANDOFF_* env vars -> overrides saved from the inbox."""
    return build_settings(*base_layers(environ, config_path), overrides or {})
