import hashlib
import hmac

from handoff_plugin.delivery.signing import sign, verify

BODY = b'{"event":"escalation.created","text":"Gr\xc3\xbc\xc3\x9fe"}'


def test_the_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "s3cret") == f"sha256={expected}"


def test_verify_accepts_the_right_secret_only() -> None:
    header = sign(BODY, "s3cret")
    assert verify(BODY, "s3cret", header)
    assert not verify(BODY, "wrong", header)
    assert not verify(BODY + b"\n", "s3cret", header)


def test_verify_rejects_missing_or_malformed_headers_and_empty_secrets() -> None:
    assert not verify(BODY, "s3cret", None)
    assert not verify(BODY, "s3cret", "")
    assert not verify(BODY, "s3cret", sign(BODY, "s3cret")[len("sha256=") :])
    assert not verify(BODY, "", sign(BODY, ""))
