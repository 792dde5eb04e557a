"""Graph v1.0 mail endpoints: messages, delta, attachments and sendMail, behind bearer tokens."""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, abort, g, jsonify, request

from .context import current_emulator, graph_error, request_id
from .delta import DeltaPage, SyncStateNotFound
from .directory import GRAPH_AUDIENCES, GRAPH_SHARED_SCOPES
from .mail import InvalidMessage, message_from_graph, send
from .mime import message_mime
from .model import Message, User
from .query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Expansion,
    InvalidQuery,
    extended_property_ids,
    page_size,
    parse_expand,
    parse_filter,
    parse_prefer,
    sort_messages,
)
from .shapes import (
    InvalidSelect,
    attachment_json,
    matching_extended_properties,
    message_json,
    parse_select,
)
from .state import FOLDER_DISPLAY_NAMES, NotFound
from .tokens import TokenRejected

log = logging.getLogger(__name__)

bp = Blueprint("graph", __name__, url_prefix="/v1.0")

READ_PERMISSIONS = frozenset(
    {"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic", "Mail.ReadBasic.All", *GRAPH_SHARED_SCOPES}
)
SEND_PERMISSIONS = frozenset({"Mail.Send"})
IMMUTABLE_ID = 'IdType="ImmutableId"'


def _fail(status: int, code: str, message: str) -> NoReturn:
    abort(graph_error(status, code, message))


@bp.before_request
def _inject_fault_and_authenticate() -> Response | None:
    emulator = current_emulator()
    # Counted before any fault, so a slow response counts as in flight while it waits.
    g.mailbox_key = emulator.requests.start(
        request.method, request.path, request.headers.get("Prefer", "")
    )
    fault = emulator.faults.take(request.path)
    if fault is not None:
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.status is not None:
            response = graph_error(fault.status, fault.code, fault.message)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(fault.retry_after)
            return response
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("Access token is empty.")
    try:
        g.claims = emulator.tokens.verify(token.strip(), GRAPH_AUDIENCES)
    except TokenRejected as error:
        log.info("Graph %s %s: token rejected: %s", request.method, request.path, error)
        return _unauthorized(f"Access token validation failure. {error}")
    return None


def _unauthorized(message: str) -> Response:
    response = graph_error(401, "InvalidAuthenticationToken", message)
    # Graph names the authority a client must get a token from.
    base = current_emulator().config.base_url
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="", authorization_uri="{base}/common/oauth2/authorize", '
        'client_id="00000003-0000-0000-c000-000000000000"'
    )
    return response


@bp.teardown_request
def _count_finished(_error: BaseException | None) -> None:
    if "mailbox_key" in g:
        current_emulator().requests.finish(g.mailbox_key)


@bp.after_request
def _add_request_ids(response: Response) -> Response:
    response.headers["request-id"] = request_id()
    response.headers["client-request-id"] = request.headers.get("client-request-id", request_id())
    if IMMUTABLE_ID.lower() in request.headers.get("Prefer", "").lower().replace(" ", ""):
        # Ids are stable in the emulator, so the immutable-id preference always holds.
        applied = [value for value in [response.headers.get("Preference-Applied")] if value]
        response.headers["Preference-Applied"] = ", ".join([*applied, IMMUTABLE_ID])
    return response


def _mailbox_user(user_key: str | None, permissions: frozenset[str]) -> User:
    """Return the mailbox owner after checking the token's permissions for it.

    :raise 400: ``/me`` with an app-only token.
    :raise 403: the token lacks every permission in ``permissions``, or is a user's token
        for another mailbox without a ``.Shared`` scope and full access to that mailbox.
    :raise 404: no such user.
    """
    claims = g.claims
    delegated = "scp" in claims
    if user_key is None:
        if not delegated:
            _fail(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        user_key = claims["oid"]
    user = current_emulator().state.find_user(user_key)
    if user is None:
        _fail(404, "ErrorInvalidUser", f"The requested user '{user_key}' is invalid.")
    granted = set(str(claims.get("scp", "")).split()) if delegated else set(claims.get("roles", []))
    if not granted & permissions or (delegated and not _may_open(claims, granted, user)):
        _fail(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return user


def _may_open(claims: dict[str, Any], granted: set[str], owner: User) -> bool:
    """Tell whether a delegated token may open ``owner``'s mailbox: its own, or shared with it."""
    if claims.get("oid") == owner.id:
        return True
    shared = granted & GRAPH_SHARED_SCOPES
    return bool(shared) and current_emulator().state.has_full_access(owner.id, claims["oid"])


def _folder(user: User, folder_key: str) -> str:
    try:
        return current_emulator().state.resolve_folder(user.id, folder_key)
    except NotFound:
        _fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _message(user: User, message_id: str) -> Message:
    try:
        return current_emulator().state.find_message(user.id, message_id)
    except NotFound:
        _fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _select(resource: str = "message") -> list[str] | None:
    try:
        return parse_select(request.args.get("$select"), resource)
    except InvalidSelect as error:
        _fail(400, "RequestBroker--ParseUri", str(error))


def _user_segment(user_key: str | None) -> str:
    return "me" if user_key is None else f"users/{quote(user_key, safe='@')}"


def _serialize(user: User, message: Message, select: list[str] | None) -> dict[str, Any]:
    emulator = current_emulator()
    folder_id = emulator.state.folder_id(user.id, message.folder)
    return message_json(message, folder_id, emulator.config.base_url, select)


def _routes(rule: str, **options: Any):
    """Register a view for both ``/users/<user>/...`` and ``/me/...``."""

    def decorator(view):
        bp.add_url_rule(f"/users/<user>{rule}", view_func=view, **options)
        bp.add_url_rule(f"/me{rule}", view_func=view, defaults={"user": None}, **options)
        return view

    return decorator


@_routes("/messages", endpoint="list_all_messages")
@_routes("/mailFolders/<folder>/messages", endpoint="list_messages")
def list_messages(user: str | None, folder: str | None = None):
    """List messages of a folder or mailbox with ``$top``, ``$skip``, ``$filter``, ``$orderby``."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    folder_name = _folder(owner, folder) if folder is not None else None
    select = _select()
    try:
        top = int(request.args.get("$top", DEFAULT_PAGE_SIZE))
        skip = int(request.args.get("$skip", 0))
    except ValueError:
        _fail(400, "BadRequest", "$top and $skip must be whole numbers.")
    if not 1 <= top <= MAX_PAGE_SIZE or skip < 0:
        _fail(400, "BadRequest", f"$top must be 1 to {MAX_PAGE_SIZE} and $skip 0 or more.")
    state = current_emulator().state
    try:
        matches = parse_filter(request.args.get("$filter"))

        def read_page() -> tuple[list[dict[str, Any]], bool]:
            messages = [item for item in state.messages_in(owner.id, folder_name) if matches(item)]
            ordered = sort_messages(messages, request.args.get("$orderby"))
            page = ordered[skip : skip + top]
            return [_serialize(owner, item, select) for item in page], skip + top < len(ordered)

        values, more = state.locked(read_page)
    except InvalidQuery as error:
        _fail(400, "ErrorInvalidUrlQueryFilter", str(error))
    base = current_emulator().config.graph_base
    folder_part = f"/mailFolders('{folder}')" if folder is not None else ""
    selected = f"({','.join(select)})" if select else ""
    owner_part = _context_owner(user)
    body: dict[str, Any] = {
        "@odata.context": f"{base}/$metadata#{owner_part}{folder_part}/messages{selected}",
        "value": values,
    }
    if more:
        args = request.args.to_dict()
        args["$skip"] = str(skip + top)
        body["@odata.nextLink"] = f"{base}{request.path.removeprefix('/v1.0')}?" + urlencode(
            args, quote_via=quote, safe="$,'()"
        )
    return jsonify(body)


def _context_owner(user_key: str | None) -> str:
    return "me" if user_key is None else f"users('{user_key}')"


@_routes("/mailFolders/<folder>", endpoint="get_folder")
def get_folder(user: str | None, folder: str):
    """Return a mail folder by well-known name or id, with its item counts."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    name = _folder(owner, folder)
    state = current_emulator().state
    messages = state.messages_in(owner.id, name)
    base = current_emulator().config.graph_base
    return jsonify(
        {
            "@odata.context": f"{base}/$metadata#{_context_owner(user)}/mailFolders/$entity",
            "id": state.folder_id(owner.id, name),
            "displayName": FOLDER_DISPLAY_NAMES[name],
            "parentFolderId": None,
            "childFolderCount": 0,
            "unreadItemCount": sum(1 for item in messages if not item.is_read),
            "totalItemCount": len(messages),
            "isHidden": False,
        }
    )


@_routes("/mailFolders/<folder>/messages/delta", endpoint="delta")
def messages_delta(user: str | None, folder: str):
    """Return one page of a delta round over a folder, chained by skip and delta tokens."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    folder_name = _folder(owner, folder)
    size = page_size(parse_prefer(request.headers.getlist("Prefer")))
    select = _select()
    emulator = current_emulator()
    skip_token = request.args.get("$skiptoken")
    delta_token = request.args.get("$deltatoken")

    try:
        # A token is only valid for the mailbox and folder whose round issued it.
        for token in (skip_token, delta_token):
            point = emulator.delta.sync_point(token) if token else None
            if point is not None and (point.user_id, point.folder) != (owner.id, folder_name):
                raise SyncStateNotFound(token)
        if skip_token:
            page = emulator.delta.follow(skip_token, size or DEFAULT_PAGE_SIZE)
        else:
            page = emulator.delta.start(
                owner.id,
                folder_name,
                tuple(select) if select is not None else None,
                lambda item: _serialize(owner, item, None),
                delta_token=delta_token,
                page_size=size or DEFAULT_PAGE_SIZE,
            )
    except SyncStateNotFound:
        log.info("Delta on %s/%s: sync state not found", owner.address, folder_name)
        _fail(410, "SyncStateNotFound", "The sync state generation is not found. Restart the sync.")

    response = jsonify(
        _delta_body(page, user, folder, emulator.state.folder_id(owner.id, folder_name))
    )
    if size is not None:
        response.headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return response


def _delta_body(page: DeltaPage, user: str | None, folder: str, folder_id: str) -> dict[str, Any]:
    base = current_emulator().config.graph_base
    link = f"{base}/{_user_segment(user)}/mailFolders/{folder_id}/messages/delta"
    values = []
    for entry in page.entries:
        if "@removed" in entry:
            values.append(entry)
            continue
        kept = (
            entry
            if page.select is None
            else {
                name: value
                for name, value in entry.items()
                if name in ("id", "@odata.etag", *page.select)
            }
        )
        values.append({"@odata.type": "#microsoft.graph.message", **kept})
    body: dict[str, Any] = {"@odata.context": f"{base}/$metadata#Collection(message)"}
    if page.skip_token:
        body["@odata.nextLink"] = f"{link}?$skiptoken={page.skip_token}"
    else:
        body["@odata.deltaLink"] = f"{link}?$deltatoken={page.delta_token}"
    body["value"] = values
    return body


@_routes("/messages/<message_id>", endpoint="get_message")
def get_message(user: str | None, message_id: str):
    """Return one message, with ``$expand`` of attachments or filtered extended properties."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    message = _message(owner, message_id)
    select = _select()
    expansions = parse_expand(request.args.get("$expand"))
    emulator = current_emulator()
    config = emulator.config
    head = {
        "@odata.context": f"{config.graph_base}/$metadata#{_context_owner(user)}/messages/$entity"
    }
    if expansions:
        # Graph names the entity with @odata.id when a response expands navigation properties.
        head["@odata.id"] = (
            f"{config.graph_base}/users('{owner.id}@{config.tenant_id}')/messages('{message.id}')"
        )

    def serialize() -> dict[str, Any]:
        return {**head, **_serialize(owner, message, select), **_expanded(message, expansions)}

    try:
        body = emulator.state.locked(serialize)
    except InvalidQuery as error:
        _fail(400, "BadRequest", str(error))
    return jsonify(body)


@_routes("/messages/<message_id>/$value", endpoint="message_value")
def message_value(user: str | None, message_id: str):
    """Return the message's MIME (RFC 5322), as Graph's ``$value`` of a message does."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    message = _message(owner, message_id)
    return Response(
        current_emulator().state.locked(lambda: message_mime(message)), mimetype="text/plain"
    )


def _expanded(message: Message, expansions: list[Expansion]) -> dict[str, Any]:
    """Return the navigation properties that ``$expand`` requests.

    :raise InvalidQuery: an expansion is unknown or lacks a required filter.
    """
    expanded: dict[str, Any] = {}
    for expansion in expansions:
        name = expansion.name.lower()
        if name == "singlevalueextendedproperties":
            ids = extended_property_ids(expansion.options)
            properties = matching_extended_properties(message, ids)
            if properties:
                expanded["singleValueExtendedProperties"] = properties
        elif name == "attachments":
            expanded["attachments"] = [attachment_json(item) for item in message.attachments]
        else:
            raise InvalidQuery(f"Could not find a navigation property named '{expansion.name}'.")
    return expanded


@_routes("/sendMail", endpoint="send_mail", methods=["POST"])
def send_mail(user: str | None):
    """Send a message from the user's mailbox; 202 with an empty body, as Graph responds."""
    owner = _mailbox_user(user, SEND_PERMISSIONS)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        _fail(400, "BadRequest", "Unable to read JSON request payload. Send a JSON object.")
    try:
        message = message_from_graph(payload.get("message"), owner)
    except InvalidMessage as error:
        _fail(400, error.code, str(error))
    # Graph saves to Sent Items unless saveToSentItems is false.
    save = payload.get("saveToSentItems", True) not in (False, "false", "False")
    send(current_emulator().state, owner, message, save)
    log.info("sendMail from %s to %d recipient(s)", owner.address, len(message.to_recipients))
    return Response(status=202)
