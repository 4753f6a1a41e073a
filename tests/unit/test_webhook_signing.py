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


def test_the_standard_webhooks_signature_covers_id_timestamp_and_body() -> None:
    import base64

    from handoff_plugin.delivery.signing import sign_standard

    header = sign_standard("msg_1", 1_700_000_000, BODY, ["s3cret"])
    digest = hmac.new(b"s3cret", b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert header == "v1," + base64.b64encode(digest).decode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": header,
    }
    assert verify(BODY, "s3cret", headers=headers, now=1_700_000_000 + 299)
    assert not verify(BODY, "s3cret", headers=headers, now=1_700_000_000 + 301)  # 5 min default
    assert not verify(BODY, "s3cret", headers={**headers, "webhook-id": "msg_2"}, now=1.7e9)
    assert not verify(BODY, "s3cret", headers={**headers, "webhook-signature": "v1,!!"}, now=1.7e9)


def test_a_whsec_secret_is_used_base64_decoded_for_the_standard_signature_only() -> None:
    import base64

    from handoff_plugin.delivery.signing import sign_standard, standard_key

    secret = "whsec_" + base64.b64encode(b"raw key bytes").decode()
    assert standard_key(secret) == b"raw key bytes"
    assert standard_key("plain") == b"plain"
    assert sign_standard("m", 1, BODY, [secret]) == sign_standard("m", 1, BODY, [b"raw key bytes"])
    # X-Signature-256 keeps its documented key: the secret's UTF-8 bytes, whatever it looks like.
    assert (
        sign(BODY, secret)
        == "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    )
