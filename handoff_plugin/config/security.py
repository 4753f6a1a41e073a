"""The `security` section: the key that encrypts secrets at rest, and session lifetimes' limits."""

from __future__ import annotations

from cryptography.fernet import Fernet
from pydantic import SecretStr, validator

from handoff_plugin.config.section import Section

KEY_ENV = "HANDOFF_SECURITY_SECRET_KEY"
GENERATE = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def parse_keys(value: str) -> list[Fernet]:
    """The `;`-separated Fernet keys of `security.secret_key` (ValueError names what is wrong)."""
    keys = []
    for number, part in enumerate((p.strip() for p in value.split(";") if p.strip()), 1):
        try:
            keys.append(Fernet(part.encode()))
        except (ValueError, TypeError):
            raise ValueError(
                f"key {number} is not a Fernet key (32 url-safe base64-encoded bytes); "
                f"make one with `{GENERATE}`"
            ) from None
    return keys


class SecuritySettings(Section):
    # Encrypts the secrets saved in the database (see store/secret_box.py); several keys
    # separated by ";" rotate: the first encrypts, every one decrypts.
    secret_key: SecretStr = SecretStr("")

    @validator("secret_key")
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:  # noqa: N805
        parse_keys(value.get_secret_value())
        return value
