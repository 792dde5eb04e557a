"""RFC 5322 import: every public sample imports or is rejected with a reason naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from m365_emulator.eml_import import RejectedMessage, parse_eml


def _all_samples(eml_dir: Path) -> list[Path]:
    return sorted(eml_dir.rglob("*.eml"))


def _parse(eml_dir: Path, relative: str):
    path = eml_dir / relative
    return parse_eml(path.read_bytes(), path.name)


def test_every_sample_imports_or_is_rejected(eml_dir):
    samples = _all_samples(eml_dir)
    outcomes = {}
    for path in samples:
        try:
            outcomes[path.name] = parse_eml(path.read_bytes(), path.name)
        except RejectedMessage as error:
            outcomes[path.name] = error
            assert str(error).startswith(f"{path.name}: ")
            assert error.reason.endswith(".")
    assert len(samples) >= 30
    assert len(outcomes) == len({path.name for path in samples})


def test_batch_import_endpoint_reports_each_file(emulator, http, sender, eml_dir):
    samples = _all_samples(eml_dir)
    files = [("files", (path.name, path.read_bytes(), "message/rfc822")) for path in samples]
    files.append(("files", ("empty.eml", b"", "message/rfc822")))
    files.append(("files", ("notes.txt", b"just a line of text\n", "text/plain")))
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/import", files=files, timeout=60
    )
    results = response.json()["results"]
    by_file = {result["file"]: result for result in results}
    assert response.status_code == 200
    assert len(results) == len(samples) + 2
    assert by_file["empty.eml"]["status"] == "rejected"
    assert by_file["empty.eml"]["reason"] == "empty.eml: The file is empty."
    assert by_file["notes.txt"]["status"] == "rejected"
    assert by_file["notes.txt"]["reason"].startswith("notes.txt: ")
    imported = [result for result in results if result["status"] == "imported"]
    assert len(emulator.messages(sender["mail"])) == len(imported)
    assert all(result["id"] for result in imported)


def test_sent_items_endpoint_imports_raw_body(emulator, http, sender, eml_dir):
    raw = (eml_dir / "mikel-mail/rfc6532/utf8_headers.eml").read_bytes()
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/sent-items",
        data=raw,
        headers={"Content-Type": "message/rfc822"},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.json()["subject"] == "Säying Hello"
    assert response.json()["internetMessageId"].endswith("@emulator.invalid>")


def test_sent_items_endpoint_rejects_with_file_name(emulator, http, sender):
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/sent-items?filename=bad.eml",
        data=b"Subject: nobody\r\n\r\nNo From and no To.\r\n",
        headers={"Content-Type": "message/rfc822"},
        timeout=10,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_message"
    assert response.json()["message"].startswith("bad.eml: The message has no From address")


def test_nonascii_attachment_name(eml_dir):
    message = _parse(eml_dir, "mikel-mail/attachment_emails/attachment_nonascii_filename.eml")
    assert [item.name for item in message.message.attachments] == ["ciële.txt"]
    assert message.message.has_attachments


def test_rfc2231_attachment_name(eml_dir):
    message = _parse(eml_dir, "mikel-mail/attachment_emails/attachment_with_quoted_filename.eml")
    attachment = message.message.attachments[0]
    assert attachment.name == "Eelanalüüsi päring.jpg"
    assert attachment.content_type == "image/jpeg"
    assert message.message.subject == "Eelanalüüsi päring"


def test_encoded_word_attachment_name(eml_dir):
    message = _parse(eml_dir, "mikel-mail/multi_charset/japanese_attachment.eml")
    attachment = message.message.attachments[0]
    assert attachment.name == "てすと.txt"
    assert attachment.content.startswith(b"this is a test")


def test_item_attachment_and_inline_image(eml_dir):
    result = _parse(
        eml_dir, "mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml"
    )
    message = result.message
    items = [item for item in message.attachments if item.kind == "item"]
    inline = [item for item in message.attachments if item.is_inline]
    assert len(items) == 1
    assert items[0].item is not None
    assert items[0].name == items[0].item.subject
    assert inline[0].content_id == "emedfeb92f-a786-4718-a446-98db8afb53fb@kronos"
    assert inline[0].content_type == "image/png"
    assert inline[0].content.startswith(b"\x89PNG")
    assert message.body_type == "html"
    assert "cid:emedfeb92f" in message.body_content
    assert message.has_attachments


def test_only_inline_parts_no_paper_clip(eml_dir):
    message = _parse(eml_dir, "mikel-mail/attachment_emails/attachment_content_location.eml")
    attachment = message.message.attachments[0]
    assert attachment.is_inline
    assert attachment.content_id == "qbFGyPQAS8"
    assert attachment.content_location == "Photo25.jpg"
    assert not message.message.has_attachments


def test_bounce_recipients_and_parts(eml_dir):
    message = _parse(eml_dir, "mikel-mail/multipart_report_emails/multi_address_bounce1.eml")
    recipients = [(item.name, item.address) for item in message.message.to_recipients]
    kinds = [item.content_type for item in message.message.attachments]
    assert recipients == [("rahul.chaudhari@LL.com", "rahul.chaudhari@LL.com")]
    assert message.message.from_.address == "MAILER-DAEMON@lvmail01.LL.com"
    assert message.message.from_.name == "Mail Delivery System"
    assert "message/delivery-status" in kinds
    assert "message/rfc822" in kinds


def test_utf8_headers_subject_and_addresses(eml_dir):
    message = _parse(eml_dir, "mikel-mail/rfc6532/utf8_headers.eml").message
    assert message.subject == "Säying Hello"
    assert message.from_.address == "jdöe@mächine.example"
    assert message.to_recipients[0].name == "Märy Smith"


def test_legacy_charset_subject(eml_dir):
    message = _parse(eml_dir, "mikel-mail/error_emails/invalid_subject_characters.eml").message
    assert message.subject.startswith("Formação FrenetikPolis")
    assert message.from_.name == "Formação Frenetikpolis"
    assert len(message.to_recipients) == 3


def test_legacy_charset_bodies(eml_dir):
    korean = _parse(eml_dir, "mikel-mail/multi_charset/ks_c_5601-1987.eml").message
    japanese = _parse(eml_dir, "mikel-mail/multi_charset/japanese_iso_2022.eml").message
    assert korean.body_content.strip() == "스티해"
    assert japanese.subject == "まみむめも"
    assert japanese.body_content.strip() == "すみません。"


def test_bad_date_uses_import_time(eml_dir):
    result = _parse(eml_dir, "mikel-mail/error_emails/bad_date_header.eml")
    assert any("Date header" in note and "invalid" in note for note in result.notes)
    assert result.message.sent == result.message.created


def test_sent_date_converted_to_utc(eml_dir):
    message = _parse(eml_dir, "cpython/msg_07.eml").message
    assert message.sent.isoformat() == "2001-04-20T23:35:02+00:00"


def test_garbled_to_header_keeps_valid_addresses(eml_dir):
    weird = _parse(eml_dir, "mikel-mail/error_emails/weird_to_header.eml").message
    folded = _parse(eml_dir, "mikel-mail/error_emails/new_line_in_to_header.eml").message
    assert [item.address for item in weird.to_recipients] == [
        "user-example@aol.com",
        "e-s-a-s-2200@app.ar.com",
    ]
    assert len(folded.to_recipients) == 6


def test_empty_group_has_no_recipients(eml_dir):
    result = _parse(eml_dir, "mikel-mail/error_emails/empty_group_lists.eml")
    assert result.message.to_recipients == []
    assert any("no recipients" in note for note in result.notes)


def test_internet_message_id_kept_with_brackets(eml_dir):
    message = _parse(eml_dir, "cpython/msg_04.eml").message
    assert message.internet_message_id == "<15261.36209.358846.118674@anthem.python.org>"


def test_uuencoded_empty_attachment(eml_dir):
    message = _parse(
        eml_dir, "mikel-mail/error_emails/content_transfer_encoding_x_uuencode.eml"
    ).message
    attachment = message.attachments[0]
    assert attachment.name == "PGP_Cmts_on_12-14-01_Pkg.doc"
    assert attachment.content_type == "application/msword"
    # The sample's x-uuencode part has no content lines at all.
    assert attachment.content == b""


def test_uuencoded_attachment_decoded():
    raw = (
        b"From: a@example.com\r\nTo: b@example.com\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
        b"Content-Type: text/plain\r\n\r\nSee attached.\r\n--X\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=hi.bin\r\n"
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\n"
        b"begin 644 hi.bin\r\n#:&D*\r\n`\r\nend\r\n--X--\r\n"
    )
    attachment = parse_eml(raw, "uu.eml").message.attachments[0]
    assert attachment.content == b"hi\n"


def test_attachment_only_message(eml_dir):
    message = _parse(eml_dir, "mikel-mail/attachment_emails/attachment_only_email.eml").message
    assert message.body_content == ""
    assert [item.name for item in message.attachments] == ["blah.gz"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "The file is empty."),
        (b"\r\n\r\n", "The file is empty."),
        (b"no header here\n", "The file has no header fields"),
        (b"Subject: x\r\n\r\nbody\r\n", "The message has no From address and no recipients"),
    ],
    ids=["empty", "blank lines", "no headers", "no addresses"],
)
def test_rejection_reasons(raw, reason):
    with pytest.raises(RejectedMessage) as caught:
        parse_eml(raw, "sample.eml")
    assert str(caught.value).startswith(f"sample.eml: {reason}")
