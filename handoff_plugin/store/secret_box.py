"""Secrets at rest: values the plugin stores for itself are Fernet-encrypted in the database.

The key comes from `security.secret_key` (env `HANDOFF_SECURITY_SECRET_KEY`): one Fernet key, or
several separated by ";" to rotate (the first encrypts, all decrypt). Without one:
- with a SQLite file database, a key is generated into `secret.key` (0600) next to the database
  file on first use (the default `.handoff/secret.key`, as `make demo` does);
- with an in-memory SQLite database, a key lives as long as the process (as does the data);
- with any other database ("production"), storing or reading an encrypted secret is refused with a
  ConfigurationError that says how to make a key.
Values written before encryption existed (no prefix) are read as they are and encrypted when
next written.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from handoff_plugin.config.security import GENERATE, KEY_ENV, parse_keys
from handoff_plugin.errors import ConfigurationError

PREFIX = "fernet:"
KEY_FILE = "secret.key"


class SecretBox:
    """Encrypts and decrypts the secrets kept in the database."""

    def __init__(self, keys: list[Fernet], *, missing_reason: str = "") -> None:
        self._fernet = MultiFernet(keys) if keys else None
        self._missing_reason = missing_reason

    def _require(self) -> MultiFernet:
        if self._fernet is None:
            raise ConfigurationError(
                f"handoff: security.secret_key is not set but {self._missing_reason}. Secrets "
                f"saved in the database are encrypted with it: set {KEY_ENV} to the output of "
                f"`{GENERATE}` (the same value in every process; see README, 'Security').",
                field="security.secret_key",
                allowed="a Fernet key, or several separated by ';'",
            )
        return self._fernet

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._require().encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            return stored  # written before encryption existed; encrypted on the next write
        try:
            return self._require().decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                "handoff: a secret in the database cannot be decrypted with security.secret_key; "
                f"set {KEY_ENV} to the key it was saved with (put a new key first, ';', the old "
                "one to rotate)",
                field="security.secret_key",
            ) from None


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _key_file(path: Path) -> bytes:
    """The key in `path`, made (0600, in a 0700 directory) by the first process that asks."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())
    return path.read_bytes().strip()


def secret_box(database_url: str, secret_key: str = "") -> SecretBox:
    """The box for one database: the configured keys, else the SQLite fallbacks described above."""
    if secret_key.strip():
        try:
            return SecretBox(parse_keys(secret_key))
        except ValueError as exc:
            raise ConfigurationError(
                f'handoff: invalid setting security.secret_key = "********"\n  {exc}',
                field="security.secret_key",
                value="********",
                allowed=str(exc),
            ) from None
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
        if not path or path == ":memory:":
            return SecretBox([Fernet(Fernet.generate_key())])
        key_path = Path(path).expanduser().parent / KEY_FILE
        return SecretBox([Fernet(_key_file(key_path))])
    return SecretBox([], missing_reason="the database is not a local SQLite file")
