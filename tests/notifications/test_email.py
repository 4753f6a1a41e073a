"""Email notifications, sent to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from handoff_plugin.models import AttemptStatus, DeliveryStatus, VisitorProfile
from tests.conftest import FakeClock
from tests.notifications.conftest import RECIPIENTS, Handoff, email_section
from tests.servers import SmtpServer, free_port


async def test_without_round_robin_every_recipient_gets_the_escalation(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(email=email_section(smtp))
    await handoff.escalate()
    await handoff.deliver()

    [mail] = smtp.mails
    assert mail.rcpt_tos == RECIPIENTS
    assert mail.message["To"] == ", ".join(RECIPIENTS)
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_round_robin_hands_each_address_one_escalation_in_turn(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(email=email_section(smtp, round_robin=True))
    for _ in range(6):
        await handoff.escalate()
        await handoff.deliver()

    assert smtp.recipients == RECIPIENTS * 2
    assert [mail.message["To"] for mail in smtp.mails] == RECIPIENTS * 2


async def test_round_robin_carries_on_sensibly_when_the_list_changes(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(email=email_section(smtp, round_robin=True))
    for _ in range(2):  # a, b
        await handoff.escalate()
    # b leaves the team, d joins: the turn passes to whoever followed b.
    await handoff.settings.save({"email": {"recipients": "a@x.test; c@x.test; d@x.test"}})
    for _ in range(4):
        await handoff.escalate()
    await handoff.deliver()

    picked = [d.payload["recipients"] for d in await handoff.deliveries()]
    assert picked == [
        ["a@x.test"],
        ["b@x.test"],
        ["c@x.test"],
        ["d@x.test"],
        ["a@x.test"],
        ["c@x.test"],
    ]
    assert sorted(smtp.recipients) == sorted(r for [r] in picked)


async def test_the_email_tells_the_team_who_asked_what_and_where_to_answer(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(
        email=email_section(smtp, **{"from": "bot@shop.test"}),
        chatbot={"name": "Shop Bot"},
        inbox={"public_url": "https://support.shop.test/inbox"},
    )
    outcome = await handoff.escalate()
    await handoff.deliver()
    assert outcome.escalation is not None

    [mail] = smtp.mails
    message = mail.message
    assert message["Subject"] == "Shop Bot: Visitor needs human assistance (Ann Lee)"
    assert message["From"] == "Shop Bot <bot@shop.test>"
    assert message["Reply-To"] == "ann@example.com"
    assert "ann@example.com" not in message["To"]
    assert "ann@example.com" not in mail.rcpt_tos
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://support.shop.test/inbox/conversations/{outcome.escalation.conversation_id}"
    for expected in ("Ann Lee", "ann@example.com", "+1 555 0100", "I want to talk to a human"):
        assert expected in text
        assert expected in html
    assert "Visitor: hello" in text
    assert "Shop Bot: Hi! How can I help?" in text
    assert link in text
    assert f'href="{link}"' in html


async def test_a_visitor_cannot_add_headers_with_line_breaks(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(email=email_section(smtp))
    attack = "Ann\r\nBcc: evil@attacker.test\r\nX-Injected: yes"
    await handoff.escalate(
        message="help me\r\nBcc: evil@attacker.test\r\n\r\nfake body",
        profile=VisitorProfile(email="ann@example.com", first_name=attack),
    )
    await handoff.deliver()

    [mail] = smtp.mails
    assert mail.rcpt_tos == RECIPIENTS
    assert mail.message["Bcc"] is None
    assert mail.message["X-Injected"] is None
    assert "\n" not in mail.message["Subject"]
    text = mail.message.get_body(("plain",)).get_content()
    assert "Bcc: evil@attacker.test" in text  # the visitor's words reach the team as text


@pytest.mark.parametrize(
    "reply", ["421 4.7.0 Too busy, closing connection", "451 4.3.0 Try again later"]
)
async def test_a_temporary_smtp_error_is_retried_after_a_backoff(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer, clock: FakeClock, reply: str
) -> None:
    handoff = make_handoff(email=email_section(smtp))
    smtp.reply(reply)
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert smtp.mails == []
    [attempt] = await handoff.attempts(delivery.id)
    assert attempt.status is AttemptStatus.RETRY
    assert attempt.response_code == int(reply[:3])

    clock.advance(9)  # the first retry waits retry_initial_delay (10 s)
    assert await handoff.deliver() == 0
    clock.advance(1)
    assert await handoff.deliver() == 1
    assert len(smtp.mails) == 1
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.attempts == 2


async def test_a_permanent_smtp_error_is_given_up_with_the_reason(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer, clock: FakeClock
) -> None:
    handoff = make_handoff(email=email_section(smtp))
    smtp.reply("550 5.1.1 Mailbox unavailable")
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert (
        delivery.last_error is not None and "550 5.1.1 Mailbox unavailable" in delivery.last_error
    )
    clock.advance(24 * 3600)
    assert await handoff.deliver() == 0
    assert smtp.mails == []


async def test_an_unreachable_smtp_server_is_retried(
    make_handoff: Callable[..., Handoff], smtp: SmtpServer
) -> None:
    handoff = make_handoff(email=email_section(smtp, smtp_port=free_port()))
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error is not None and "could not reach 127.0.0.1" in delivery.last_error


async def test_without_an_smtp_host_the_email_is_printed_clearly_marked(
    make_handoff: Callable[..., Handoff], capsys: pytest.CaptureFixture[str]
) -> None:
    handoff = make_handoff(email={"enabled": True, "recipients": "team@x.test"})
    await handoff.escalate()
    await handoff.deliver()

    printed = capsys.readouterr().out
    assert "email NOT sent - no SMTP server configured" in printed
    assert "To: team@x.test" in printed
    assert "Subject: Assistant: Visitor needs human assistance (Ann Lee)" in printed
    assert "I want to talk to a human" in printed
    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED


@pytest.fixture
def plaintext_auth_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(logins={"ops": "s3cret-pass"}).start()  # AUTH offered, no STARTTLS
    yield server
    server.stop()


async def test_credentials_are_never_sent_to_a_server_without_tls(
    make_handoff: Callable[..., Handoff], plaintext_auth_smtp: SmtpServer
) -> None:
    handoff = make_handoff(
        email=email_section(plaintext_auth_smtp, smtp_username="ops", smtp_password="s3cret-pass")
    )
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.FAILED  # permanent: retrying cannot help
    assert "HANDOFF_EMAIL_SMTP_ALLOW_PLAINTEXT_AUTH" in (delivery.last_error or "")
    assert "s3cret-pass" not in (delivery.last_error or "")
    assert plaintext_auth_smtp.logged_in == [] and plaintext_auth_smtp.mails == []


async def test_plaintext_login_is_used_when_the_setting_allows_it(
    make_handoff: Callable[..., Handoff], plaintext_auth_smtp: SmtpServer
) -> None:
    handoff = make_handoff(
        email=email_section(
            plaintext_auth_smtp,
            smtp_username="ops",
            smtp_password="s3cret-pass",
            smtp_allow_plaintext_auth=True,
        )
    )
    await handoff.escalate()
    await handoff.deliver()

    [delivery] = await handoff.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert plaintext_auth_smtp.logged_in == ["ops"] and len(plaintext_auth_smtp.mails) == 1
