"""The control API under ``/_emulator/``: users, mailbox contents, outbox, faults and resets.

It needs no token, so it accepts requests from loopback clients only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask import Blueprint, abort, jsonify, request

from .auth_codes import register_redirect_uri
from .context import Emulator, control_error, current_emulator
from .eml_import import RejectedMessage, parse_eml
from .faults import fault_from_json
from .fields import reject_unknown
from .model import EmailAddress, Message, User
from .outlook_send import MailgripUploadFailed, send_from_outlook
from .state import NotFound

log = logging.getLogger(__name__)

bp = Blueprint("control", __name__, url_prefix="/_emulator")
CONFIG_FIELDS = frozenset({"mailgripUrl", "addinId"})


def _fail(status: int, error: str, message: str) -> NoReturn:
    abort(control_error(status, error, message))


def is_loopback(address: str | None) -> bool:
    """Tell whether a client address is loopback, including IPv4-mapped IPv6 loopback."""
    try:
        parsed = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback


@bp.before_request
def _loopback_only():
    if not is_loopback(request.remote_addr):
        log.warning("Control API request from %s rejected", request.remote_addr)
        return control_error(
            403, "forbidden", "The control API accepts requests from loopback addresses only."
        )
    return None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        _fail(400, "invalid_request", "The request body must be a JSON object.")
    return body


def _user(key: str) -> User:
    try:
        return current_emulator().state.require_user(key)
    except NotFound as error:
        _fail(404, "user_not_found", f"{error} Create it with POST /_emulator/users.")


def message_summary(message: Message) -> dict[str, Any]:
    """Return the ids and subject that identify a filed message."""
    return {
        "id": message.id,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "folder": message.folder,
    }


def import_sent_item(emulator: Emulator, user: User, raw: bytes, filename: str) -> dict[str, Any]:
    """Import an RFC 5322 message into the user's Sent Items.

    :raise RejectedMessage: the file cannot be imported.
    """
    result = parse_eml(raw, filename)
    message = result.message
    if message.from_ is None:
        # A message in someone's Sent Items was sent from their mailbox.
        message.from_ = message.sender = EmailAddress(user.display_name, user.address)
    emulator.state.add_message(user.id, message, "sentitems")
    return {**message_summary(message), "notes": result.notes}


@bp.post("/users")
def create_user():
    """Create a user (or update its name and password) and return it."""
    body = _json_body()
    try:
        user = current_emulator().state.create_user(
            str(body.get("address", "")),
            str(body.get("displayName", "")),
            str(body.get("password", "")),
        )
    except ValueError as error:
        _fail(400, "invalid_user", str(error))
    return jsonify(user.to_json()), 201


@bp.put("/users/<user>/app-roles")
def set_app_roles(user: str):
    """Replace a user's app roles on Mailgrip's API: ``{"roles": ["Mailgrip.Admin"]}``."""
    roles = _json_body().get("roles")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        _fail(400, "invalid_roles", 'Send {"roles": [...]} with a list of role names.')
    updated = current_emulator().state.set_app_roles(_user(user).id, frozenset(roles))
    return jsonify({"id": updated.id, "roles": sorted(updated.app_roles)})


@bp.get("/users")
def list_users():
    return jsonify({"value": [user.to_json() for user in current_emulator().state.users()]})


@bp.post("/mailboxes/<user>/sent-items")
def add_sent_item(user: str):
    """Import the raw RFC 5322 request body into the user's Sent Items."""
    owner = _user(user)
    filename = request.args.get("filename", "message.eml")
    try:
        summary = import_sent_item(current_emulator(), owner, request.get_data(), filename)
    except RejectedMessage as error:
        return control_error(422, "invalid_message", str(error))
    return jsonify(summary), 201


@bp.post("/mailboxes/<user>/import")
def import_files(user: str):
    """Import many uploaded files (field ``files``); a rejected file never stops the others."""
    owner = _user(user)
    uploads = request.files.getlist("files")
    if not uploads:
        _fail(400, "invalid_request", "Upload one or more RFC 5322 files in the field 'files'.")
    results = []
    for upload in uploads:
        name = upload.filename or "unnamed.eml"
        try:
            summary = import_sent_item(current_emulator(), owner, upload.read(), name)
        except RejectedMessage as error:
            results.append({"file": name, "status": "rejected", "reason": str(error)})
            continue
        results.append({"file": name, "status": "imported", **summary})
    return jsonify({"results": results})


@bp.post("/mailboxes/<user>/send-from-outlook")
def outlook_send(user: str):
    """Run the add-in's on-send steps on a raw message, then send and file it."""
    owner = _user(user)
    filename = request.args.get("filename", "message.eml")
    try:
        result = send_from_outlook(current_emulator(), owner, request.get_data(), filename)
    except RejectedMessage as error:
        return control_error(422, "invalid_message", str(error))
    except MailgripUploadFailed as error:
        log.warning("Send from Outlook for %s failed: %s", owner.address, error)
        return control_error(502, "mailgrip_failed", f"{error} Nothing was sent or filed.")
    return jsonify(result), 201


@bp.get("/mailboxes/<user>/messages")
def list_mailbox(user: str):
    """List the messages of a folder (``?folder=``, default Sent Items) or of every folder."""
    owner = _user(user)
    folder = request.args.get("folder", "sentitems")
    state = current_emulator().state
    try:
        folder_name = None if folder == "all" else state.resolve_folder(owner.id, folder)
    except NotFound as error:
        _fail(404, "folder_not_found", str(error))
    messages = state.messages_in(owner.id, folder_name)
    return jsonify({"value": [message_summary(item) for item in messages]})


@bp.post("/mailboxes/<user>/messages/<message_id>/move")
def move_message(user: str, message_id: str):
    """Move a message to another folder (``{"destination": "deleteditems"}``)."""
    owner = _user(user)
    destination = str(_json_body().get("destination", ""))
    try:
        message = current_emulator().state.move_message(owner.id, message_id, destination)
    except NotFound as error:
        _fail(404, "not_found", str(error))
    return jsonify(message_summary(message))


@bp.patch("/mailboxes/<user>/messages/<message_id>")
def update_message(user: str, message_id: str):
    """Change ``isRead``, ``subject``, ``categories``, ``importance`` or ``flag``."""
    owner = _user(user)
    try:
        message = current_emulator().state.update_message(owner.id, message_id, _json_body())
    except NotFound as error:
        _fail(404, "not_found", str(error))
    except (ValueError, TypeError, KeyError) as error:
        _fail(400, "invalid_request", str(error))
    return jsonify(message_summary(message))


@bp.delete("/mailboxes/<user>/messages/<message_id>")
def delete_message(user: str, message_id: str):
    """Delete a message permanently; delta reports it as removed."""
    owner = _user(user)
    try:
        current_emulator().state.delete_message(owner.id, message_id)
    except NotFound as error:
        _fail(404, "not_found", str(error))
    return "", 204


@bp.post("/mailboxes/<user>/permissions")
def add_mailbox_permission(user: str):
    """Give another user full access to this mailbox: ``{"user": "<address or id>"}``."""
    return _set_full_access(user, granted=True)


@bp.delete("/mailboxes/<user>/permissions")
def remove_mailbox_permission(user: str):
    """Remove another user's full access to this mailbox: ``{"user": "<address or id>"}``."""
    return _set_full_access(user, granted=False)


def _set_full_access(owner_key: str, granted: bool):
    owner = _user(owner_key)
    delegate = _user(str(_json_body().get("user", "")))
    current_emulator().state.set_full_access(owner.id, delegate.id, granted)
    log.info(
        "Full access of %s to the mailbox of %s %s",
        delegate.address,
        owner.address,
        "granted" if granted else "removed",
    )
    return jsonify({"mailbox": owner.id, "user": delegate.id, "fullAccess": granted})


@bp.post("/mailboxes/<user>/delta/expire")
def expire_delta(user: str):
    """Forget the mailbox's delta tokens, so the next delta request gets 410 SyncStateNotFound."""
    owner = _user(user)
    return jsonify({"expired": current_emulator().delta.expire(owner.id)})


@bp.get("/outbox")
def outbox():
    """List every message sent so far, oldest first."""
    return jsonify({"value": [mail.to_json() for mail in current_emulator().state.outbox()]})


@bp.delete("/outbox")
def clear_outbox():
    current_emulator().state.clear_outbox()
    return "", 204


@bp.post("/reset")
def reset():
    """Forget users, mailboxes, the outbox, tokens and faults; keep keys and app registrations."""
    reset_emulator(current_emulator())
    return "", 204


def reset_emulator(emulator: Emulator) -> None:
    """Return the emulator to an empty tenant with the same keys, apps and TLS material."""
    emulator.state.reset()
    emulator.delta.reset()
    emulator.tokens.forget_refresh_tokens()
    emulator.faults.clear()
    emulator.codes.clear()
    emulator.subscriptions.reset()
    emulator.requests.clear()


@bp.get("/config")
def get_config():
    config = current_emulator().config
    return jsonify({"mailgripUrl": config.mailgrip_url, "addinId": config.addin_id})


@bp.post("/config")
def set_config():
    """Set ``mailgripUrl`` (a loopback URL) and ``addinId``."""
    body = _json_body()
    try:
        reject_unknown(body, CONFIG_FIELDS)
        current_emulator().config.update(body.get("mailgripUrl"), body.get("addinId"))
    except ValueError as error:
        _fail(400, "invalid_config", str(error))
    return get_config()


@bp.post("/apps/<client_id>/<any(spa, web):platform>-redirect-uris")
def add_redirect_uri(client_id: str, platform: str):
    """Register ``uri`` as a redirect URI of an app's single-page or web platform."""
    uri = _json_body().get("uri")
    if not isinstance(uri, str):
        _fail(400, "invalid_request", "Send a JSON object with the redirect URI as 'uri'.")
    try:
        app = register_redirect_uri(current_emulator(), client_id, uri, platform)
    except KeyError:
        _fail(404, "not_found", f"No app with client id {client_id!r}.")
    except ValueError as error:
        _fail(400, "invalid_redirect_uri", str(error))
    return jsonify(
        {
            "clientId": app.client_id,
            "spaRedirectUris": list(app.spa_redirect_uris),
            "webRedirectUris": list(app.web_redirect_uris),
        }
    )


@bp.post("/keys/rotate")
def rotate_keys():
    """Make a new signing key current; the previous key stays in the JWKS."""
    emulator = current_emulator()
    key = emulator.keys.rotate()
    log.info("Signing key rotated; current kid %s", key.kid)
    return jsonify({"kid": key.kid, "published": [item.kid for item in emulator.keys.published()]})


def register_certificate(emulator: Emulator, client_id: str, pem: bytes) -> dict[str, str]:
    """Add a certificate to an app registration, as uploading it in the portal does.

    :raise KeyError: no app with this client id.
    :raise ValueError: ``pem`` is not a PEM certificate.
    """
    app = emulator.apps[client_id.lower()]
    certificate = x509.load_pem_x509_certificate(pem)
    emulator.apps[app.client_id] = dataclasses.replace(
        app, certificates=(*app.certificates, certificate)
    )
    log.info("Certificate registered for app %s", app.client_id)
    return {
        "clientId": app.client_id,
        # The portal shows the SHA-1 thumbprint in upper-case hex.
        "thumbprint": certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        "thumbprintSha256": certificate.fingerprint(hashes.SHA256()).hex().upper(),
    }


@bp.post("/apps/<client_id>/certificates")
def add_certificate(client_id: str):
    """Register a PEM certificate (the request body) as a credential of an app."""
    try:
        registered = register_certificate(current_emulator(), client_id, request.get_data())
    except KeyError:
        _fail(404, "app_not_found", f"No app registration has the client id {client_id!r}.")
    except ValueError:
        _fail(
            400,
            "invalid_certificate",
            "The body is not a PEM certificate; send the text that starts with "
            "-----BEGIN CERTIFICATE-----.",
        )
    return jsonify(registered), 201


@bp.post("/faults")
def add_fault():
    """Plan a fault for Graph requests: status, retryAfter, delaySeconds, path, count."""
    try:
        fault = fault_from_json(_json_body())
    except ValueError as error:
        _fail(400, "invalid_fault", str(error))
    current_emulator().faults.add(fault)
    return jsonify(fault.to_json()), 201


@bp.get("/faults")
def list_faults():
    return jsonify({"value": [fault.to_json() for fault in current_emulator().faults.pending()]})


@bp.delete("/faults")
def clear_faults():
    current_emulator().faults.clear()
    return "", 204
