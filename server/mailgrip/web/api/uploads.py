"""Resumable uploads into a draft share, as the Outlook add-in sends attachments while composing."""

from __future__ import annotations

from typing import Any

from flask import g, request

from ...db import db
from ...errors import BadRequest
from ...settings import current_settings
from ...shares.models import File, Upload
from ...shares.resumable import (
    UploadLimits,
    cancel_upload,
    discard_bytes,
    owned_share,
    owned_upload,
    parse_content_range,
    receive_chunk,
    received_bytes,
    share_uploads,
    start_upload,
)
from ...shares.storage import Storage, current_storage
from ..json_body import read_json
from . import bp
from .auth import require_caller
from .representation import iso


@bp.get("/shares/<share_id>")
@require_caller
def get_share(share_id: str):
    """Return a share of the caller with its files and uploads, but not its link.

    :raise 404: no such share among the caller's.
    """
    share = owned_share(g.mailbox, share_id)
    storage = current_storage()
    return {
        "id": share.id,
        "expiresAt": iso(share.expires_at),
        "verification": share.verification,
        "files": [file_json(file) for file in share.files],
        "uploads": [upload_json(upload, storage) for upload in share_uploads(share)],
    }


@bp.post("/shares/<share_id>/uploads")
@require_caller
def post_upload(share_id: str):
    """Start a resumable upload from a JSON body with ``name``, ``size`` and ``contentType``.

    :raise 400: a missing or invalid value.
    :raise 404: no such share among the caller's.
    :raise 409: the share is not a draft, was already sent, or has
        ``MAILGRIP_MAX_FILES_PER_SHARE`` uploads.
    :raise 413: ``size`` is larger than ``MAILGRIP_MAX_UPLOAD_BYTES``, or would make the share
        larger than ``MAILGRIP_MAX_SHARE_BYTES``.
    """
    share = owned_share(g.mailbox, share_id)
    body = _json_object()
    storage = current_storage()
    upload = start_upload(
        share,
        body.get("name"),
        body.get("size"),
        body.get("contentType"),
        UploadLimits.from_settings(current_settings()),
        storage,
    )
    db.session.commit()
    return upload_json(upload, storage), 201


# One rule for the three methods: with a rule per method, Werkzeug returns 405 instead of 404
# when the id converter rejects an out-of-range id.
@bp.route("/shares/<share_id>/uploads/<id:upload_id>", methods=["GET", "PUT", "DELETE"])
@require_caller
def upload(share_id: str, upload_id: int):
    """Read, extend or remove one upload, by the request's method."""
    handlers = {"GET": get_upload, "PUT": put_chunk, "DELETE": delete_upload}
    return handlers[request.method](share_id, upload_id)


def get_upload(share_id: str, upload_id: int):
    """Return how many bytes of an upload the server has, to resume after a failure.

    :raise 404: no such upload in the caller's share.
    """
    upload = owned_upload(g.mailbox, share_id, upload_id)
    return upload_json(upload, current_storage())


def put_chunk(share_id: str, upload_id: int):
    """Append the body as the chunk that ``Content-Range`` names.

    :raise 400: a missing or malformed Content-Range, or a body of another length.
    :raise 404: no such upload in the caller's share.
    :raise 409: the share is not a draft or was already sent, or the chunk does not start at
        ``receivedBytes``, which the error detail contains.
    :raise 413: the share's uploads up to this one exceed ``MAILGRIP_MAX_SHARE_BYTES``.
    """
    upload = owned_upload(g.mailbox, share_id, upload_id)
    chunk = parse_content_range(request.headers.get("Content-Range"), upload)
    storage = current_storage()
    receive_chunk(
        upload,
        chunk,
        request.content_length,
        request.stream,
        storage,
        current_settings().max_share_bytes,
    )
    db.session.commit()
    return upload_json(upload, storage)


def delete_upload(share_id: str, upload_id: int):
    """Remove an upload and its file, when the user removes the attachment before sending.

    :raise 404: no such upload in the caller's share, or it was removed meanwhile.
    :raise 409: the share is not a draft or was already sent, or its file was downloaded or
        blocked.
    """
    upload = owned_upload(g.mailbox, share_id, upload_id)
    storage_key = cancel_upload(upload)
    db.session.commit()
    discard_bytes(storage_key, current_storage())
    return "", 204


def _json_object() -> dict[str, Any]:
    body = read_json()
    if not isinstance(body, dict):
        raise BadRequest(
            "Send a JSON object with Content-Type application/json, for example "
            '{"name": "report.pdf", "size": 1048576, "contentType": "application/pdf"}.'
        )
    return body


def file_json(file: File) -> dict[str, Any]:
    """Return the API form of a complete file of a share."""
    return {
        "id": file.id,
        "name": file.display_name,
        "size": file.size,
        "contentType": file.content_type,
        "sha256": file.sha256,
    }


def upload_json(upload: Upload, storage: Storage) -> dict[str, Any]:
    """Return the API form of an upload with its progress."""
    return {
        "id": upload.id,
        "shareId": upload.share_id,
        "name": upload.display_name,
        "size": upload.size,
        "contentType": upload.content_type,
        "receivedBytes": received_bytes(upload, storage),
        "complete": upload.file_id is not None,
        "file": file_json(upload.file) if upload.file is not None else None,
    }
