"""The OpenAPI 3.1 document of the task-pane API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from . import bp

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid request; the message names the value and the fix.",
        401: "Missing, expired or invalid bearer token.",
        404: "Not found, or not the caller's.",
        409: "Conflicts with the current state; the message says how to continue.",
        413: "Upload larger than the configured limit.",
    }
    return {str(status): _json(_ERROR, text[status]) for status in statuses}


_ID_PARAM = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
# Labels that can stand behind a state; the sender's own views never do.
_STATE_LABELS = ["person", "unknown", "proxy", "scanner"]

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
    "Evidence": {
        "type": "object",
        "description": "A state. Only a person's event turns it on; the other fields describe "
        "its strongest evidence, which may be weak (a proxy, a scanner, an unknown client).",
        "required": ["value", "at"],
        "properties": {
            "value": {"type": "boolean"},
            "at": {**_NULLABLE_TIME, "description": "Time of the strongest evidence."},
            "evidence": {
                "type": ["string", "null"],
                "enum": ["download", "verified", "link", "image", None],
            },
            "label": {"type": ["string", "null"], "enum": [*_STATE_LABELS, None]},
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
            "label": {"type": "string", "enum": [*_STATE_LABELS, "sender"]},
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
            "when Mailgrip learned the state from message trace, or when the report arrived."
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
            "at": _NULLABLE_TIME,
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
            "liftedAt": _NULLABLE_TIME,
            "active": {"type": "boolean"},
        },
    },
    "BlockRequest": {
        "type": "object",
        "required": ["scope"],
        "properties": {
            "scope": {"type": "string", "enum": ["all", "recipient", "file"]},
            "recipientId": {"type": "integer", "description": "Required for scope recipient."},
            "fileId": {"type": "integer", "description": "Required for scope file."},
        },
    },
    "MessageSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "subject": {"type": "string"},
            "sentAt": _NULLABLE_TIME,
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
            "sentAt": _NULLABLE_TIME,
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

_SHARE_ID_PARAM = {"name": "shareId", "in": "path", "required": True, "schema": {"type": "string"}}
_UPLOAD_PARAMS = [_SHARE_ID_PARAM, {"name": "uploadId", **_ID_PARAM}]
_UPLOAD = {"$ref": "#/components/schemas/Upload"}

PATHS: dict[str, Any] = {
    "/api/messages": {
        "get": {
            "summary": "List the caller's messages, newest first",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                }
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "value": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/MessageSummary"},
                            }
                        },
                    },
                    "The caller's messages.",
                ),
                **_errors(400, 401),
            },
        }
    },
    "/api/messages/{messageId}": {
        "get": {
            "summary": "Tracking of one message by its Mailgrip id",
            "parameters": [{"name": "messageId", **_ID_PARAM}],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Tracking"}, "The tracking."),
                **_errors(401, 404),
            },
        }
    },
    "/api/messages/{messageId}/timeline": {
        "get": {
            "summary": "Every event of one message, newest first, with its label and reasons",
            "parameters": [{"name": "messageId", **_ID_PARAM}],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "value": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/TimelineEntry"},
                            },
                        },
                    },
                    "The timeline.",
                ),
                **_errors(401, 404),
            },
        }
    },
    "/api/sender-cookie": {
        "post": {
            "summary": "Mark this browser as the caller's, so its own views never count",
            "responses": {
                "204": {"description": "Cookie mailgrip_sender set for Mailgrip's origin."},
                **_errors(401),
            },
        }
    },
    "/api/messages/lookup": {
        "get": {
            "summary": "Tracking of one message by Graph id or internetMessageId",
            "parameters": [
                {
                    "name": "graphId",
                    "in": "query",
                    "description": "Graph or Outlook item id, in REST or EWS spelling.",
                    "schema": {"type": "string"},
                },
                {
                    "name": "internetMessageId",
                    "in": "query",
                    "description": "Used when graphId is missing or matches no message.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Tracking"}, "The tracking."),
                **_errors(400, 401, 404),
            },
        }
    },
    "/api/messages/{messageId}/blocks": {
        "post": {
            "summary": "Block a file, a recipient or everything",
            "parameters": [{"name": "messageId", **_ID_PARAM}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/BlockRequest"}}
                },
            },
            "responses": {
                "201": _json({"$ref": "#/components/schemas/Block"}, "Block created."),
                "200": _json({"$ref": "#/components/schemas/Block"}, "Same block already active."),
                **_errors(400, 401, 404),
            },
        }
    },
    "/api/blocks/{blockId}/lift": {
        "post": {
            "summary": "Lift a block; it stays in the history",
            "parameters": [{"name": "blockId", **_ID_PARAM}],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Block"}, "The lifted block."),
                **_errors(401, 404),
            },
        }
    },
    "/api/shares": {
        "post": {
            "summary": "Create a share and upload its files, or create a draft share",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["draft"],
                            "description": "A draft share without files, for resumable uploads.",
                            "properties": {
                                "draft": {"const": True},
                                "verification": {"type": "string", "enum": ["code", "none"]},
                            },
                        }
                    },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["files"],
                            "properties": {
                                "files": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "verification": {"type": "string", "enum": ["code", "none"]},
                            },
                        }
                    },
                },
            },
            "responses": {
                "201": _json({"$ref": "#/components/schemas/Share"}, "Share created."),
                **_errors(400, 401, 413),
            },
        }
    },
    "/api/shares/{shareId}": {
        "get": {
            "summary": "A share of the caller with its files and uploads, without its link",
            "parameters": [_SHARE_ID_PARAM],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/ShareStatus"}, "The share."),
                **_errors(401, 404),
            },
        }
    },
    "/api/shares/{shareId}/uploads": {
        "post": {
            "summary": "Start a resumable upload into a share not yet sent",
            "parameters": [_SHARE_ID_PARAM],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/UploadRequest"}}
                },
            },
            "responses": {
                "201": _json(_UPLOAD, "Upload started; complete at once when size is 0."),
                **_errors(400, 401, 404, 409, 413),
            },
        }
    },
    "/api/shares/{shareId}/uploads/{uploadId}": {
        "get": {
            "summary": "How many bytes of an upload the server has",
            "parameters": _UPLOAD_PARAMS,
            "responses": {"200": _json(_UPLOAD, "The upload."), **_errors(401, 404)},
        },
        "put": {
            "summary": "Append the chunk that Content-Range names",
            "parameters": [
                *_UPLOAD_PARAMS,
                {
                    "name": "Content-Range",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "example": "bytes 0-4194303/10485760"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            "responses": {
                "200": _json(_UPLOAD, "Chunk stored; complete after the last one."),
                **_errors(400, 401, 404, 409),
            },
        },
        "delete": {
            "summary": "Remove an upload and its file from a share not yet sent",
            "parameters": _UPLOAD_PARAMS,
            "responses": {"204": {"description": "Removed."}, **_errors(401, 404, 409)},
        },
    },
}


@bp.get("/openapi.json")
def openapi_document():
    """Serve the OpenAPI document; it needs no token, because it describes only the shapes."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mailgrip task-pane API", "version": "0.1.0"},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Identity-platform v2 access token with the API scope.",
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }
