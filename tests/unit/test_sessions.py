"""Session ids: minted by the server, recognised only when we signed them."""

from __future__ import annotations

import itertools

import pytest

from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.livechat.sessions import SessionSigner, session_secret
from handoff_plugin.store import Store

SECRET = b"0123456789abcdef-test-secret"


def test_a_minted_session_id_is_recognised_and_names_its_sender() -> None:
    signer = SessionSigner(SECRET)
    minted = signer.mint()
    assert len(minted.key) == 32  # 128 random bits, hex
    assert minted.token.startswith(minted.key + ".")
    assert signer.verify(minted.token) == minted


def test_each_session_gets_different_random_bits() -> None:
    signer = SessionSigner(SECRET)
    assert len({signer.mint().key for _ in range(100)}) == 100


def test_forged_altered_or_foreign_ids_are_not_recognised() -> None:
    signer = SessionSigner(SECRET)
    token = signer.mint().token
    key, _, signature = token.partition(".")
    other_key = ("0" if key[0] != "0" else "1") + key[1:]
    assert signer.verify(f"{other_key}.{signature}") is None  # someone else's sender id
    assert signer.verify(key) is None  # the sender id alone
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert SessionSigner(b"another-secret-of-16+").verify(token) is None
    for junk in (None, 42, "", "x" * 76, {"session_id": token}, token + " "):
        assert signer.verify(junk) is None


def test_the_random_source_is_injectable() -> None:
    counter = itertools.count()
    signer = SessionSigner(SECRET, random_bytes=lambda n: bytes([next(counter)] * n))
    assert signer.mint().key == "00" * 16
    assert signer.mint().key == "01" * 16


def test_the_session_id_is_not_printed_whole() -> None:
    minted = SessionSigner(SECRET).mint()
    assert minted.token not in repr(minted) and minted.token not in str(minted)


async def test_without_a_configured_secret_one_is_generated_once_and_kept(
    store: Store, make_settings: object
) -> None:
    settings = Settings()
    first = await session_secret(settings, store)
    assert len(first) >= 32
    assert await session_secret(settings, store) == first


async def test_a_configured_secret_wins(store: Store) -> None:
    settings = Settings.parse_obj({"livechat": {"session_secret": "s" * 20}})
    assert await session_secret(settings, store) == b"s" * 20


def test_a_short_session_secret_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError) as error:
        SessionSigner(b"too-short")
    assert error.value.field == "livechat.session_secret"
    assert "too-short" not in str(error.value)
