"""Schemas and response helpers of the task-pane API's OpenAPI document."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UPLOAD_ERROR = {"$ref": "#/components/schemas/UploadError"}


def upload_error(description: str) -> dict[str, Any]:
    """Return a 409 or 413 response of the draft-share routes, whose detail names the cause."""
    return json_response(UPLOAD_ERROR, description)


# RFC 6750 section 3: the challenge of every 401, with an error code only for a rejected token.
_BEARER_CHALLENGE = {
    "description": (
        'Bearer realm="mailgrip" when the request has no bearer token, and '
        'Bearer realm="mailgrip", error="invalid_token" when its token was rejected.'
    ),
    "schema": {"type": "string"},
}


def error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid request; the message names the value and the fix.",
        401: "Missing, expired or invalid bearer token.",
        404: "Not found, or not the caller's.",
        409: "Conflicts with the current state; the message says how to continue.",
        413: "Upload larger than the configured limit.",
    }
    responses = {str(status): json_response(ERROR, text[status]) for status in statuses}
    if 401 in statuses:
        responses["401"]["headers"] = {"WWW-Authenticate": _BEARER_CHALLENGE}
    return responses


ID_PARAM = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
# Labels that can stand behind a state; the sender's own views never do.
STATE_LABELS = ["person", "unknown", "proxy", "scanner"]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "detail": {"type": "object"},
        },
    },
    "UploadError": {
        "type": "object",
        "description": "An error of the draft-share routes; the message says how to continue.",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": ["conflict", "payload_too_large"]},
            "message": {"type": "string"},
            "detail": {
                "type": "object",
                "properties": {
                    "reason": {
                        "type": "string",
                        "enum": ["not_draft", "sent"],
                        "description": "Why the share's files cannot change: it was created "
                        "with its files in one request (not_draft), or a sent message carries "
                        "it (sent).",
                    },
                    "shareId": {"type": "string"},
                    "limit": {
                        "type": "integer",
                        "description": "The limit that was reached: bytes for 413, files or "
                        "bytes of a JSON body otherwise.",
                    },
                    "shareBytes": {
                        "type": "integer",
                        "description": "The total size of the share's uploads, in bytes.",
                    },
                    "receivedBytes": {
                        "type": "integer",
                        "description": "Where to continue the upload.",
                    },
                    "field": {"type": "string"},
                },
            },
        },
    },
    "Evidence": {
        "type": "object",
        "description": "A state. Only a person's event turns it on; the other fields describe "
        "its strongest evidence, which may be weak (a proxy, a scanner, an unknown client).",
        "required": ["value", "at"],
        "properties": {
            "value": {"type": "boolean"},
            "at": {**NULLABLE_TIME, "description": "Time of the strongest evidence."},
            "evidence": {
                "type": ["string", "null"],
                "enum": ["download", "verified", "link", "image", None],
            },
            "label": {"type": ["string", "null"], "enum": [*STATE_LABELS, None]},
            "by": {
                "type": ["string", "null"],
                "description": "Address of the verified recipient behind the evidence.",
            },
        },
    },
    "TimelineEntry": {
        "type": "object",
        "required": ["id", "kind", "at", "label", "reasons", "actor"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {
                "type": "string",
                "description": "Event kind. Clients show kinds they do not know by name.",
            },
            "at": {"type": "string", "format": "date-time"},
            "label": {"type": "string", "enum": [*STATE_LABELS, "sender"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "actor": {
                "type": ["string", "null"],
                "enum": ["recipient", "forwarded", "sender", None],
                "description": "forwarded: someone the message was not sent to.",
            },
            "recipient": {"type": ["object", "null"]},
            "file": {"type": ["object", "null"]},
            "detail": {"type": "object"},
        },
    },
    "Received": {
        "type": "object",
        "description": (
            "Delivery of the message to one recipient, from Exchange message trace (`trace`) "
            "or a non-delivery report in the sender's Inbox (`ndr`). `unknown` until a source "
            "reports; `expanded` is a distribution list, whose members are not listed. `at` is "
            "the trace row's `receivedDateTime` or the report's arrival, kept between the send "
            "and the moment Mailgrip read it."
        ),
        "required": ["state", "detail", "at", "source"],
        "properties": {
            "state": {
                "type": "string",
                "enum": [
                    "unknown",
                    "pending",
                    "delivered",
                    "failed",
                    "quarantined",
                    "filteredAsSpam",
                    "expanded",
                ],
            },
            "detail": {
                "type": ["string", "null"],
                "description": "Why delivery failed, as the mail server wrote it.",
            },
            "at": NULLABLE_TIME,
            "source": {"type": ["string", "null"], "enum": ["trace", "ndr", None]},
        },
    },
    "Block": {
        "type": "object",
        "required": ["id", "scope", "createdBy", "createdAt", "active"],
        "properties": {
            "id": {"type": "integer"},
            "scope": {"type": "string", "enum": ["all", "recipient", "file"]},
            "recipientId": {"type": ["integer", "null"]},
            "fileId": {"type": ["integer", "null"]},
            "createdBy": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "liftedBy": {"type": ["string", "null"]},
            "liftedAt": NULLABLE_TIME,
            "active": {"type": "boolean"},
        },
    },
    "BlockRequest": {
        "description": (
            "Scope all takes no target, scope recipient takes recipientId, and scope file takes "
            "fileId. A target field that the scope does not use gets 400."
        ),
        "oneOf": [
            {
                "type": "object",
                "required": ["scope"],
                "properties": {"scope": {"const": "all"}},
                "not": {"anyOf": [{"required": ["recipientId"]}, {"required": ["fileId"]}]},
            },
            {
                "type": "object",
                "required": ["scope", "recipientId"],
                "properties": {"scope": {"const": "recipient"}, "recipientId": {"type": "integer"}},
                "not": {"required": ["fileId"]},
            },
            {
                "type": "object",
                "required": ["scope", "fileId"],
                "properties": {"scope": {"const": "file"}, "fileId": {"type": "integer"}},
                "not": {"required": ["recipientId"]},
            },
        ],
    },
    "MessageSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "subject": {"type": "string"},
            "sentAt": NULLABLE_TIME,
            "recipientCount": {"type": "integer"},
            "hasShare": {"type": "boolean"},
        },
    },
    "Tracking": {
        "type": "object",
        "description": "Per recipient and per file states of one message, with its blocks.",
        "properties": {
            "id": {"type": "integer"},
            "graphId": {"type": "string"},
            "internetMessageId": {"type": ["string", "null"]},
            "subject": {"type": "string"},
            "sentAt": NULLABLE_TIME,
            "sender": {"type": "string"},
            "inSentItems": {"type": "boolean"},
            "share": {"type": ["object", "null"]},
            "message": {"type": "object"},
            "recipients": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"received": {"$ref": "#/components/schemas/Received"}},
                },
            },
            "files": {"type": "array", "items": {"type": "object"}},
            "blockAll": {"oneOf": [{"$ref": "#/components/schemas/Block"}, {"type": "null"}]},
            "blocks": {"type": "array", "items": {"$ref": "#/components/schemas/Block"}},
            "refreshAfterSeconds": {"type": "integer"},
        },
    },
    "Share": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "link": {"type": "string", "format": "uri"},
            "openTrackingUrl": {"type": "string", "format": "uri"},
            "expiresAt": {"type": "string", "format": "date-time"},
            "verification": {"type": "string", "enum": ["code", "none"]},
            "files": {"type": "array", "items": {"type": "object"}},
        },
    },
    "File": {
        "type": "object",
        "required": ["id", "name", "size", "contentType", "sha256"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "contentType": {"type": "string"},
            "sha256": {"type": "string"},
        },
    },
    "Upload": {
        "type": "object",
        "required": ["id", "shareId", "name", "size", "receivedBytes", "complete", "file"],
        "properties": {
            "id": {"type": "integer"},
            "shareId": {"type": "string"},
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "contentType": {"type": "string"},
            "receivedBytes": {"type": "integer", "description": "Where the next chunk starts."},
            "complete": {"type": "boolean"},
            "file": {"oneOf": [{"$ref": "#/components/schemas/File"}, {"type": "null"}]},
        },
    },
    "UploadRequest": {
        "type": "object",
        "required": ["name", "size"],
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "contentType": {"type": "string"},
        },
    },
    "ShareStatus": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "expiresAt": {"type": "string", "format": "date-time"},
            "verification": {"type": "string", "enum": ["code", "none"]},
            "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
            "uploads": {"type": "array", "items": {"$ref": "#/components/schemas/Upload"}},
        },
    },
}
