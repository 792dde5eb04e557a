"""Delta query over Sent Items: paging, delta links, removals and lost sync state."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

SELECT = "subject,sender,isRead"


def _eml(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Dana Swope <danas@contoso.example>"
    message["To"] = "alex@fabrikam.example"
    message["Subject"] = subject
    message["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    message.set_content("Body.")
    return message.as_bytes()


def _import(emulator, sender, subject: str) -> str:
    return emulator.import_sent_item(sender["mail"], _eml(subject))["id"]


@pytest.fixture
def delta(graph, sender):
    """Follow one delta round to its end: returns the pages and the delta link."""

    def run(url: str | None = None, page_size: int = 2) -> tuple[list[dict], str]:
        url = url or f"users/{sender['mail']}/mailFolders/sentitems/messages/delta?$select={SELECT}"
        headers = {"Prefer": f'odata.maxpagesize={page_size}, IdType="ImmutableId"'}
        pages = []
        for _ in range(20):
            response = graph("GET", url, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            pages.append(page)
            if "@odata.deltaLink" in page:
                return pages, page["@odata.deltaLink"]
            url = page["@odata.nextLink"]
        raise AssertionError("the delta round did not end within 20 pages")

    return run


def test_delta_initial_round_pages(emulator, sender, delta, graph_sample, assert_same_shape):
    ids = [_import(emulator, sender, f"Holiday update {number}") for number in range(5)]
    pages, delta_link = delta()
    entries = [entry for page in pages for entry in page["value"]]
    assert [len(page["value"]) for page in pages] == [2, 2, 1]
    assert sorted(entry["id"] for entry in entries) == sorted(ids)
    assert "$skiptoken=" in pages[0]["@odata.nextLink"]
    assert "$deltatoken=" in delta_link
    assert_same_shape(graph_sample("delta_messages_page1_nextLink.json"), pages[0])
    assert_same_shape(graph_sample("delta_messages_page3_final_deltaLink.json"), pages[-1])
    assert set(entries[0]) == {"@odata.type", "@odata.etag", "id", "subject", "sender", "isRead"}


def test_delta_next_round_reports_new_and_removed(
    emulator, graph, sender, delta, graph_sample, assert_same_shape
):
    ids = [_import(emulator, sender, f"Message {number}") for number in range(5)]
    _, delta_link = delta()
    new_id = _import(emulator, sender, "Arrived later")
    emulator.move_message(sender["mail"], ids[1], "deleteditems")
    emulator.emulator.state.update_message(sender["id"], ids[2], {"isRead": False})

    pages, next_link = delta(delta_link)
    entries = [entry for page in pages for entry in page["value"]]
    removed = [entry for entry in entries if "@removed" in entry]
    changed = [entry for entry in entries if "@removed" not in entry]
    assert removed == [
        {"@odata.type": "#microsoft.graph.message", "id": ids[1], "@removed": {"reason": "deleted"}}
    ]
    assert sorted(entry["id"] for entry in changed) == sorted([new_id, ids[2]])
    # The sample writes isRead as the string "true"; Graph's schema and the emulator use a bool.
    sample = graph_sample("delta_messages_nextround_removed_and_updated.json")
    sample["value"][1]["isRead"] = True
    assert_same_shape(sample["value"][0], removed[0])
    assert_same_shape(sample["value"][1], changed[0])
    assert next_link != delta_link


def test_delta_without_changes_is_empty(emulator, sender, delta):
    _import(emulator, sender, "Only one")
    _, delta_link = delta()
    pages, _ = delta(delta_link)
    assert [page["value"] for page in pages] == [[]]


def test_delta_link_keeps_select(emulator, graph, sender, delta):
    _, delta_link = delta()
    _import(emulator, sender, "Later")
    pages, _ = delta(delta_link)
    assert set(pages[0]["value"][0]) == {
        "@odata.type",
        "@odata.etag",
        "id",
        "subject",
        "sender",
        "isRead",
    }


def test_delta_deleted_message_removed(emulator, sender, delta):
    message_id = _import(emulator, sender, "Deleted soon")
    _, delta_link = delta()
    emulator.emulator.state.delete_message(sender["id"], message_id)
    pages, _ = delta(delta_link)
    assert pages[0]["value"][0]["@removed"] == {"reason": "deleted"}


def test_delta_moved_in_message_appears_in_other_folder(emulator, graph, sender):
    message_id = _import(emulator, sender, "Moving")
    emulator.move_message(sender["mail"], message_id, "deleteditems")
    body = graph("GET", f"users/{sender['mail']}/mailFolders/deleteditems/messages/delta").json()
    assert [entry["id"] for entry in body["value"]] == [message_id]


@pytest.mark.parametrize("parameter", ["$deltatoken", "$skiptoken"])
def test_delta_garbled_token(graph, sender, parameter):
    response = graph(
        "GET",
        f"users/{sender['mail']}/mailFolders/sentitems/messages/delta?{parameter}=garbled",
    )
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SyncStateNotFound"


def test_delta_expired_sync_state(emulator, http, graph, sender, delta):
    _, delta_link = delta()
    expired = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/delta/expire", timeout=10
    )
    response = graph("GET", delta_link)
    assert expired.json()["expired"] >= 1
    assert response.status_code == 410


def test_delta_token_of_other_mailbox(emulator, graph, sender, delta):
    _, delta_link = delta()
    other = emulator.create_user("bob@contoso.example", "Bob", "pw-bob")
    token = delta_link.partition("$deltatoken=")[2]
    stolen = f"users/{other['mail']}/mailFolders/sentitems/messages/delta?$deltatoken={token}"
    response = graph("GET", stolen)
    assert response.status_code == 410


def test_delta_preference_applied(graph, sender):
    response = graph(
        "GET",
        f"users/{sender['mail']}/mailFolders/sentitems/messages/delta",
        headers={"Prefer": "odata.maxpagesize=3"},
    )
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"


def test_delta_default_page_size(emulator, graph, sender):
    for number in range(12):
        _import(emulator, sender, f"Bulk {number}")
    body = graph("GET", f"users/{sender['mail']}/mailFolders/sentitems/messages/delta").json()
    assert len(body["value"]) == 10
    assert "@odata.nextLink" in body
