"""Graph's List groups, filtered by a group's mail address.

The tenant's groups are the distribution lists known from delivery outcomes: an address whose
rule has status ``expanded`` and members. Only the two filters that look a group up by its
address are supported: ``mail eq '<address>'`` and ``proxyAddresses/any(p:p eq
'smtp:<address>')``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, NoReturn

from flask import abort, g, jsonify, request

from .context import current_emulator, graph_error
from .graph import bp
from .trace_store import OutcomeRule

# List groups accepts GroupMember.Read.All as its least privileged application permission;
# these higher ones work as well.
GROUP_READ_PERMISSIONS = frozenset(
    {"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"}
)
_MAIL_FILTER = re.compile(r"^\s*mail\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_PROXY_FILTER = re.compile(
    r"^\s*proxyAddresses/any\((\w+):\1\s+eq\s+'smtp:((?:[^']|'')*)'\)\s*$", re.IGNORECASE
)
# Fixes the ids, so that one list has the same group id in every response.
_GROUP_NAMESPACE = uuid.UUID("0b7f7a55-3f63-4c1e-9a3b-6d2c1e0f4a10")


def _fail(status: int, code: str, message: str) -> NoReturn:
    abort(graph_error(status, code, message))


def _filtered_address(raw: str) -> str:
    """Return the address that a supported ``$filter`` looks for, in lower case.

    :raise 400: the filter is missing or not one of the two supported forms.
    """
    mail = _MAIL_FILTER.match(raw)
    if mail:
        return mail.group(1).replace("''", "'").lower()
    proxy = _PROXY_FILTER.match(raw)
    if proxy:
        return proxy.group(2).replace("''", "'").lower()
    _fail(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported query: '{raw}'. The emulator supports only mail eq '<address>' and "
        "proxyAddresses/any(p:p eq 'smtp:<address>') on groups.",
    )


def _group_json(rule: OutcomeRule) -> dict[str, Any]:
    address = rule.address.lower()
    return {
        "id": str(uuid.uuid5(_GROUP_NAMESPACE, address)),
        "displayName": address.partition("@")[0],
        "groupTypes": [],
        "mail": rule.address,
        "mailEnabled": True,
        "mailNickname": address.partition("@")[0],
        "proxyAddresses": [f"SMTP:{rule.address}"],
        "securityEnabled": False,
    }


@bp.get("/groups")
def list_groups():
    """List the distribution lists whose address the ``$filter`` names (none or one)."""
    claims = g.claims
    granted = (
        set(str(claims.get("scp", "")).split()) if "scp" in claims else set(claims.get("roles", []))
    )
    if not granted & GROUP_READ_PERMISSIONS:
        _fail(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    address = _filtered_address(request.args.get("$filter", ""))
    groups = [
        _group_json(rule)
        for rule in current_emulator().state.traces.rules()
        if rule.status == "expanded" and rule.members and rule.address.lower() == address
    ]
    base = current_emulator().config.graph_base
    return jsonify({"@odata.context": f"{base}/$metadata#groups", "value": groups})
