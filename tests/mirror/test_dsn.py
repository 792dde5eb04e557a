"""Parsing of delivery status notifications, on public samples and on broken input."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailgrip.mirror.dsn import NotADeliveryReport, parse_delivery_report

REPORTS_DIR = ("eml", "mikel-mail", "multipart_report_emails")
GMAIL_DIAGNOSTIC = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try "
    "550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 "
    "unnecessary spaces. Learn more at 550 5.1.1 "
    "http://mail.google.com/support/bin/answer.py?answer=6596 41si5422799iwn.27"
)

# Read off each file by hand: the quoted Message-ID, the reporting server, and per recipient
# (final recipient, action, status, diagnostic code without its "smtp;" type).
EXPECTED = {
    "multi_address_bounce1.eml": {
        "message_id": "<118707422.15521266992174819.JavaMail.root@lvmail01>",
        "reporting_mta": "lvmail01.LL.com",
        "recipients": [
            (address, "failed", "5.1.1", GMAIL_DIAGNOSTIC)
            for address in (
                "bbbbvhvbbvkjbhfbvbvjhb@gmail.com",
                "bscdbcjhasbcjhbdscbhbsdhcbj@gmail.com",
                "egyfefsdvsfvvhjsd@gmail.com",
                "kfhejkfbsjkjsbhds@gmail.com",
                "qfvhgsvhgsduiohncdhcvhsdfvsfygusd@gmail.com",
            )
        ],
    },
    # Its first message/delivery-status part is free text; only the second one has fields.
    "multipart_report_multiple_status.eml": {
        "message_id": "<4c2a146147ac8_61ff157c4ec1652df@s.h.c.mail>",
        "reporting_mta": "schemailmta04.ci.com",
        "recipients": [("u@ci.com", "failed", "5.3.0", None)],
    },
    # A delay warning whose original is quoted as text/rfc822-headers.
    "report_422.eml": {
        "message_id": "<15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au>",
        "reporting_mta": "mail11.ttttt.com.au",
        "recipients": [
            (
                "fraser@oooooooo.com.au",
                "delayed",
                "4.2.2",
                "452 4.2.2 <fraser@oooooooo.com.au>... Mailbox full",
            )
        ],
    },
}
# Files of the folder that are not delivery status notifications, with the reason: none yet.
NOT_REPORTS: dict[str, str] = {}


def test_table_covers_every_sample(fixtures_dir):
    names = {path.name for path in fixtures_dir.joinpath(*REPORTS_DIR).glob("*.eml")}
    assert names == set(EXPECTED) | set(NOT_REPORTS)


@pytest.mark.parametrize("name", sorted({*EXPECTED, *NOT_REPORTS}))
def test_sample_report_parses(fixtures_dir, name):
    if name in NOT_REPORTS:
        pytest.skip(f"{name} is not a delivery status notification: {NOT_REPORTS[name]}")
    expected = EXPECTED[name]
    report = parse_delivery_report(fixtures_dir.joinpath(*REPORTS_DIR, name).read_bytes())

    assert report.original_message_id == expected["message_id"]
    assert report.reporting_mta == expected["reporting_mta"]
    found = [
        (item.final_recipient, item.action, item.status, item.diagnostic_code)
        for item in report.recipients
    ]
    assert found == expected["recipients"]


def test_angle_brackets_removed_from_recipient(fixtures_dir):
    raw = fixtures_dir.joinpath(*REPORTS_DIR, "multipart_report_multiple_status.eml").read_bytes()
    recipient = parse_delivery_report(raw).recipients[0]
    assert recipient.final_recipient == "u@ci.com"
    assert recipient.original_recipient == "u@ci.com"


def _report(fields: str, original_headers: str | None = None) -> bytes:
    boundary = "b0undary"
    parts = [
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n",
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n{fields}\r\n",
    ]
    if original_headers is not None:
        parts.append(
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n{original_headers}\r\n"
        )
    head = (
        "From: postmaster@fabrikam.example\r\nTo: alice@contoso.example\r\n"
        "Subject: Undeliverable\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
    )
    return (head + "".join(parts) + f"--{boundary}--\r\n").encode()


def test_envelope_id_and_original_recipient():
    raw = _report(
        "Reporting-MTA: dns; mx.fabrikam.example\r\nOriginal-Envelope-Id: abc123\r\n\r\n"
        "Original-Recipient: rfc822;Bob@Fabrikam.example\r\n"
        "Final-Recipient: rfc822;bob.smith@fabrikam.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
    )
    report = parse_delivery_report(raw)
    assert report.original_envelope_id == "abc123"
    assert report.original_message_id is None
    assert report.recipients[0].addresses == ["Bob@Fabrikam.example", "bob.smith@fabrikam.example"]
    assert report.recipients[0].diagnostic_code == "550 5.1.1 user unknown"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not a message at all",
        _report("Reporting-MTA: dns; mx.fabrikam.example\r\n"),
        _report("Final-Recipient: rfc822; bob@fabrikam.example\r\nAction: exploded\r\n"),
        _report("Final-Recipient: rfc822; not-an-address\r\nAction: failed\r\n"),
    ],
    ids=["empty", "text", "no-recipient", "unknown-action", "no-address"],
)
def test_invalid_report_rejected(raw):
    with pytest.raises(NotADeliveryReport):
        parse_delivery_report(raw)


def test_plain_message_is_no_report():
    message = EmailMessage()
    message["From"] = "bob@fabrikam.example"
    message["Subject"] = "Lunch?"
    message.set_content("Are you free at noon?")
    with pytest.raises(NotADeliveryReport):
        parse_delivery_report(message.as_bytes())
