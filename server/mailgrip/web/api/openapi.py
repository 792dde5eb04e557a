"""The OpenAPI 3.1 document of the task-pane API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from . import bp
from .openapi_schemas import ID_PARAM, SCHEMAS, error_responses, json_response, upload_error

# Every path with a control character gets 400 before routing (web/control_characters.py).
_SHARE_ID_PARAM = {
    "name": "shareId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"},
    "description": "A control character in it gets 400.",
}
_UPLOAD_PARAMS = [_SHARE_ID_PARAM, {"name": "uploadId", **ID_PARAM}]
_UPLOAD = {"$ref": "#/components/schemas/Upload"}
_NOT_OPEN_DRAFT = (
    "the share is not an open draft (detail.reason not_draft: created with its files in one "
    "request; sent: a sent message carries it), and its files stay as they are"
)
_SHARE_TOO_LARGE = "the share's uploads would exceed MAILGRIP_MAX_SHARE_BYTES (detail.limit)"

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
                "200": json_response(
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
                **error_responses(400, 401),
            },
        }
    },
    "/api/messages/{messageId}": {
        "get": {
            "summary": "Tracking of one message by its Mailgrip id",
            "parameters": [{"name": "messageId", **ID_PARAM}],
            "responses": {
                "200": json_response({"$ref": "#/components/schemas/Tracking"}, "The tracking."),
                **error_responses(401, 404),
            },
        }
    },
    "/api/messages/{messageId}/timeline": {
        "get": {
            "summary": "Every event of one message, newest first, with its label and reasons",
            "parameters": [{"name": "messageId", **ID_PARAM}],
            "responses": {
                "200": json_response(
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
                **error_responses(401, 404),
            },
        }
    },
    "/api/sender-cookie": {
        "post": {
            "summary": "Mark this browser as the caller's, so its own views never count",
            "responses": {
                "204": {"description": "Cookie mailgrip_sender set for Mailgrip's origin."},
                **error_responses(401),
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
                "200": json_response({"$ref": "#/components/schemas/Tracking"}, "The tracking."),
                **error_responses(400, 401, 404),
            },
        }
    },
    "/api/messages/{messageId}/blocks": {
        "post": {
            "summary": "Block a file, a recipient or everything",
            "parameters": [{"name": "messageId", **ID_PARAM}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/BlockRequest"}}
                },
            },
            "responses": {
                "201": json_response({"$ref": "#/components/schemas/Block"}, "Block created."),
                "200": json_response(
                    {"$ref": "#/components/schemas/Block"}, "Same block already active."
                ),
                **error_responses(400, 401, 404),
            },
        }
    },
    "/api/blocks/{blockId}/lift": {
        "post": {
            "summary": "Lift a block; it stays in the history",
            "parameters": [{"name": "blockId", **ID_PARAM}],
            "responses": {
                "200": json_response({"$ref": "#/components/schemas/Block"}, "The lifted block."),
                **error_responses(401, 404),
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
                "201": json_response({"$ref": "#/components/schemas/Share"}, "Share created."),
                **error_responses(400, 401, 413),
            },
        }
    },
    "/api/shares/{shareId}": {
        "get": {
            "summary": "A share of the caller with its files and uploads, without its link",
            "parameters": [_SHARE_ID_PARAM],
            "responses": {
                "200": json_response({"$ref": "#/components/schemas/ShareStatus"}, "The share."),
                **error_responses(401, 404),
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
                "201": json_response(_UPLOAD, "Upload started; complete at once when size is 0."),
                **error_responses(400, 401, 404),
                "409": upload_error(
                    f"Not started: {_NOT_OPEN_DRAFT}; or the share has "
                    "MAILGRIP_MAX_FILES_PER_SHARE uploads."
                ),
                "413": upload_error(
                    f"Not started: the file exceeds MAILGRIP_MAX_UPLOAD_BYTES, {_SHARE_TOO_LARGE}, "
                    "or the JSON body is too large."
                ),
            },
        }
    },
    "/api/shares/{shareId}/uploads/{uploadId}": {
        "get": {
            "summary": "How many bytes of an upload the server has",
            "parameters": _UPLOAD_PARAMS,
            "responses": {
                "200": json_response(_UPLOAD, "The upload."),
                **error_responses(401, 404),
            },
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
                "200": json_response(_UPLOAD, "Chunk stored; complete after the last one."),
                **error_responses(400, 401, 404),
                "409": upload_error(
                    f"Not stored: {_NOT_OPEN_DRAFT}; or the chunk does not start at "
                    "detail.receivedBytes, or the upload is complete."
                ),
                "413": upload_error(f"Not stored: {_SHARE_TOO_LARGE}."),
            },
        },
        "delete": {
            "summary": "Remove an upload and its file from a share not yet sent",
            "parameters": _UPLOAD_PARAMS,
            "responses": {
                "204": {"description": "Removed, with its file if a chunk completed it meanwhile."},
                **error_responses(401, 404),
                "409": upload_error(
                    f"Not removed: {_NOT_OPEN_DRAFT}; or the file was downloaded or blocked."
                ),
            },
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
