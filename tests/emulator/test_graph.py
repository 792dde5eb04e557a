"""Graph mail endpoints of the emulator: authentication, messages, attachments, sendMail."""

from __future__ import annotations

import base64
import copy
import re
from email.message import EmailMessage

import pytest

CUSTOM_PROPERTY = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"


def _eml(subject: str, to: str = "alex@fabrikam.example") -> bytes:
    message = EmailMessage()
    message["From"] = "Adele Vance <adele@contoso.example>"
    message["To"] = f"Alex Wilber <{to}>"
    message["Subject"] = subject
    message["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    message["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9]+', '.', subject)}@contoso.example>"
    message.set_content("Plain text part.")
    message.add_alternative("<html><body><p>The group represents Nevada.</p></body></html>", "html")
    return message.as_bytes()


def _import(emulator, sender, raw: bytes, name: str = "message.eml") -> str:
    return emulator.import_sent_item(sender["mail"], raw, name)["id"]


def _import_fixture(emulator, sender, eml_dir, relative: str) -> str:
    path = eml_dir / relative
    return _import(emulator, sender, path.read_bytes(), path.name)


def test_graph_without_token(emulator, http, sender):
    response = http.get(
        f"{emulator.base_url}/v1.0/users/{sender['mail']}/mailFolders/sentitems/messages",
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["request-id"]
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("case", ["foreign key", "api audience", "expired"])
def test_graph_rejects_bad_tokens(emulator, http, sender, case):
    graph_claims = {"aud": "https://graph.microsoft.com", "roles": ["Mail.Read"]}
    tokens = {
        "foreign key": emulator.mint_token(graph_claims, key=emulator.foreign_key),
        "api audience": emulator.mint_token(),
        "expired": emulator.mint_token(graph_claims, lifetime=-300),
    }
    response = http.get(
        f"{emulator.base_url}/v1.0/users/{sender['mail']}/messages",
        headers={"Authorization": f"Bearer {tokens[case]}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_graph_error_shape(graph, sender):
    body = graph("GET", f"users/{sender['mail']}/messages/AAMkADnothere").json()
    assert body["error"]["code"] == "ErrorItemNotFound"
    assert set(body["error"]["innerError"]) == {"date", "request-id", "client-request-id"}


def test_graph_unknown_user(graph):
    response = graph("GET", "users/nobody@contoso.example/messages")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ErrorInvalidUser"


def test_graph_delegated_token_other_mailbox(emulator, http, sender):
    other = emulator.create_user("bob@contoso.example", "Bob", "pw-bob")
    token = emulator.mint_token(
        {"aud": "https://graph.microsoft.com", "scp": "Mail.Read"}, user=other["mail"]
    )
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{emulator.base_url}/v1.0"
    own = http.get(f"{base}/me/mailFolders/sentitems/messages", headers=headers, timeout=10)
    foreign = http.get(f"{base}/users/{sender['id']}/messages", headers=headers, timeout=10)
    assert own.status_code == 200
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "ErrorAccessDenied"


def test_message_get_matches_graph_sample(emulator, graph, sender, graph_sample, assert_same_shape):
    message_id = _import(emulator, sender, _eml("9/9/2018: concert"))
    response = graph("GET", f"users/{sender['mail']}/messages/{message_id}")
    body = response.json()
    assert response.status_code == 200
    assert_same_shape(graph_sample("message_get_response.json"), body)
    assert body["sentDateTime"] == "2024-01-01T10:00:00Z"
    assert body["body"]["contentType"] == "html"
    assert body["bodyPreview"] == "The group represents Nevada."
    assert body["@odata.etag"] == f'W/"{body["changeKey"]}"'
    assert body["internetMessageId"] == "<9.9.2018.concert@contoso.example>"


def test_message_get_user_by_id_and_case(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("Case"))
    by_id = graph("GET", f"users/{sender['id']}/messages/{message_id}")
    by_upper_address = graph("GET", f"users/{sender['mail'].upper()}/messages/{message_id}")
    assert by_id.status_code == 200
    assert by_upper_address.status_code == 200


def test_message_select(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("Selected"))
    body = graph("GET", f"users/{sender['mail']}/messages/{message_id}?$select=subject,from").json()
    assert set(body) == {"@odata.context", "@odata.etag", "id", "subject", "from"}


def test_message_select_unknown_property(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("Selected"))
    response = graph("GET", f"users/{sender['mail']}/messages/{message_id}?$select=nonsense")
    assert response.status_code == 400


def test_extended_property_expand(emulator, graph, sender, graph_sample, assert_same_shape):
    message_id = _import(emulator, sender, _eml("Talk about emergency prep"))
    emulator.emulator.state.set_extended_property(
        sender["id"], message_id, CUSTOM_PROPERTY, "Green"
    )
    # Property ids compare without regard to the case of the GUID and the name.
    wanted = CUSTOM_PROPERTY.upper().replace("STRING", "String").replace("NAME", "Name")
    path = (
        f"users/{sender['mail']}/messages/{message_id}"
        f"?$expand=singleValueExtendedProperties($filter=id eq '{wanted}')"
    )
    body = graph("GET", path).json()
    sample = graph_sample("message_get_with_singleValueExtendedProperties.json")
    assert_same_shape(sample, body)
    assert body["singleValueExtendedProperties"] == [{"id": CUSTOM_PROPERTY, "value": "Green"}]


def test_extended_property_expand_without_match(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("No property"))
    path = (
        f"users/{sender['mail']}/messages/{message_id}?$expand=singleValueExtendedProperties"
        "($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name cecp-x')"
    )
    body = graph("GET", path).json()
    assert "singleValueExtendedProperties" not in body


def test_list_messages_pages_with_next_link(emulator, graph, sender):
    for number in range(5):
        _import(emulator, sender, _eml(f"Message {number}"))
    first = graph("GET", f"users/{sender['mail']}/mailFolders/sentitems/messages?$top=2").json()
    second = graph("GET", first["@odata.nextLink"]).json()
    third = graph("GET", second["@odata.nextLink"]).json()
    subjects = [item["subject"] for page in (first, second, third) for item in page["value"]]
    assert len(first["value"]) == 2
    assert sorted(subjects) == [f"Message {number}" for number in range(5)]
    assert "@odata.nextLink" not in third
    assert first["@odata.context"].endswith("/messages")


def test_list_messages_filter_by_internet_message_id(emulator, graph, sender):
    _import(emulator, sender, _eml("First"))
    wanted = _import(emulator, sender, _eml("Second"))
    response = graph(
        "GET",
        f"users/{sender['mail']}/messages",
        params={"$filter": "internetMessageId eq '<Second@contoso.example>'"},
    )
    assert [item["id"] for item in response.json()["value"]] == [wanted]


def test_list_messages_orderby_subject(emulator, graph, sender):
    for subject in ("b", "c", "a"):
        _import(emulator, sender, _eml(subject))
    body = graph(
        "GET", f"users/{sender['mail']}/mailFolders/SentItems/messages?$orderby=subject desc"
    ).json()
    assert [item["subject"] for item in body["value"]] == ["c", "b", "a"]


def test_folder_by_id_and_odata_key_form(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("Where"))
    folder_id = graph("GET", f"users/{sender['mail']}/messages/{message_id}").json()[
        "parentFolderId"
    ]
    by_id = graph("GET", f"users/{sender['mail']}/mailFolders/{folder_id}/messages").json()
    by_key = graph("GET", f"users('{sender['mail']}')/mailfolders('sentitems')/messages").json()
    assert [item["id"] for item in by_id["value"]] == [message_id]
    assert [item["id"] for item in by_key["value"]] == [message_id]


def test_immutable_id_preference_applied(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("Ids"))
    response = graph(
        "GET",
        f"users/{sender['mail']}/messages/{message_id}",
        headers={"Prefer": 'IdType="ImmutableId"'},
    )
    assert response.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    assert response.json()["id"] == message_id


def test_file_attachment_matches_sample(
    emulator, graph, sender, eml_dir, graph_sample, assert_same_shape
):
    message_id = _import_fixture(
        emulator, sender, eml_dir, "mikel-mail/attachment_emails/attachment_pdf.eml"
    )
    listed = graph("GET", f"users/{sender['mail']}/messages/{message_id}/attachments").json()
    attachment = listed["value"][0]
    single = graph(
        "GET", f"users/{sender['mail']}/messages/{message_id}/attachments/{attachment['id']}"
    ).json()
    raw = graph(
        "GET",
        f"users/{sender['mail']}/messages/{message_id}/attachments/{attachment['id']}/$value",
    )
    assert_same_shape(graph_sample("attachment_get_fileAttachment.json"), single)
    assert single["name"] == "broken.pdf"
    assert single["contentType"] == "application/pdf"
    assert raw.headers["Content-Type"] == "application/pdf"
    assert raw.content == base64.b64decode(single["contentBytes"])
    assert single["size"] == len(raw.content)


def test_item_attachment_matches_samples(
    emulator, graph, sender, eml_dir, graph_sample, assert_same_shape
):
    message_id = _import_fixture(
        emulator,
        sender,
        eml_dir,
        "mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml",
    )
    base = f"users/{sender['mail']}/messages/{message_id}/attachments"
    listed = graph("GET", base).json()["value"]
    item = next(value for value in listed if value["@odata.type"].endswith("itemAttachment"))
    single = graph("GET", f"{base}/{item['id']}").json()
    expanded = graph(
        "GET", f"{base}/{item['id']}?$expand=microsoft.graph.itemattachment/item"
    ).json()
    mime = graph("GET", f"{base}/{item['id']}/$value")
    assert_same_shape(graph_sample("attachment_get_itemAttachment.json"), single)
    assert_same_shape(graph_sample("attachment_get_itemAttachment_expanded_message.json"), expanded)
    assert single["contentType"] is None
    assert mime.headers["Content-Type"] == "message/rfc822"
    assert b"Subject:" in mime.content
    assert expanded["item"]["subject"] == single["name"]


def test_attachment_not_found(emulator, graph, sender):
    message_id = _import(emulator, sender, _eml("No attachments"))
    response = graph("GET", f"users/{sender['mail']}/messages/{message_id}/attachments/AAMkADx")
    assert response.status_code == 404


def test_send_mail_records_outbox(emulator, graph, sender, graph_sample):
    request = copy.deepcopy(graph_sample("sendmail_request_with_fileattachment.json"))
    request["saveToSentItems"] = True
    response = graph("POST", f"users/{sender['mail']}/sendMail", json=request)
    outbox = emulator.outbox()
    assert response.status_code == 202
    assert response.content == b""
    assert outbox[0]["to"] == ["meganb@contoso.com"]
    assert outbox[0]["subject"] == "Meet for lunch?"
    assert outbox[0]["from"] == sender["mail"]
    assert outbox[0]["contentType"] == "text"
    assert outbox[0]["attachments"] == ["attachment.txt"]
    assert [item["subject"] for item in emulator.messages(sender["mail"])] == ["Meet for lunch?"]


def test_send_mail_without_saving(emulator, graph, sender):
    request = {
        "message": {
            "subject": "Your code",
            "body": {"contentType": "HTML", "content": "<p>123456</p>"},
            "toRecipients": [{"emailAddress": {"address": "alex@fabrikam.example"}}],
        },
        "saveToSentItems": False,
    }
    graph("POST", f"users/{sender['mail']}/sendMail", json=request)
    assert emulator.outbox()[0]["body"] == "<p>123456</p>"
    assert emulator.messages(sender["mail"]) == []


def test_send_mail_delivers_to_local_inbox(emulator, graph, sender):
    recipient = emulator.create_user("alex@contoso.example", "Alex", "pw-alex")
    request = {
        "message": {
            "subject": "Hello",
            "toRecipients": [{"emailAddress": {"address": "alex@contoso.example"}}],
        },
        "saveToSentItems": False,
    }
    graph("POST", f"users/{sender['mail']}/sendMail", json=request)
    assert [item["subject"] for item in emulator.messages(recipient["mail"], "inbox")] == ["Hello"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"message": {"subject": "x"}}, {"message": {"toRecipients": [{"emailAddress": {}}]}}],
    ids=["no message", "no recipients", "recipient without address"],
)
def test_send_mail_invalid(emulator, graph, sender, payload):
    response = graph("POST", f"users/{sender['mail']}/sendMail", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidRecipients"
    assert emulator.outbox() == []


def test_send_mail_needs_send_permission(emulator, http, sender):
    token = emulator.mint_token(
        {"aud": "https://graph.microsoft.com", "scp": "Mail.Read"}, user=sender["mail"]
    )
    response = http.post(
        f"{emulator.base_url}/v1.0/me/sendMail",
        json={"message": {"toRecipients": [{"emailAddress": {"address": "a@b.example"}}]}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403


def test_fault_injection_throttles_once(emulator, graph, sender):
    emulator.add_fault(status=429, retryAfter=2, path="/messages")
    throttled = graph("GET", f"users/{sender['mail']}/messages")
    recovered = graph("GET", f"users/{sender['mail']}/messages")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert recovered.status_code == 200


def test_unknown_graph_segment(graph, sender):
    response = graph("GET", f"users/{sender['mail']}/calendars")
    assert response.status_code == 400
    assert response.headers["request-id"]


@pytest.mark.parametrize(
    "expand",
    ["singleValueExtendedProperties", "calendar"],
    ids=["extended properties without filter", "unknown property"],
)
def test_message_expand_invalid(emulator, graph, sender, expand):
    message_id = _import(emulator, sender, _eml("Expand"))
    response = graph("GET", f"users/{sender['mail']}/messages/{message_id}?$expand={expand}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_message_expand_attachments(emulator, graph, sender, eml_dir):
    message_id = _import_fixture(
        emulator, sender, eml_dir, "mikel-mail/attachment_emails/attachment_pdf.eml"
    )
    body = graph("GET", f"users/{sender['mail']}/messages/{message_id}?$expand=attachments").json()
    assert [item["name"] for item in body["attachments"]] == ["broken.pdf"]
    assert "@odata.id" in body


def test_me_with_app_token(graph):
    response = graph("GET", "me/messages")
    assert response.status_code == 400
