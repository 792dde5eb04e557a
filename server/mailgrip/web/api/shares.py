"""``POST /api/shares``: create a share from uploaded files, or a draft share to upload into."""

from __future__ import annotations

from typing import Any

from flask import g, request

from ...db import db
from ...errors import BadRequest
from ...settings import current_settings
from ...shares.service import CreatedShare, create_draft_share, create_share
from ...shares.storage import current_storage
from ...shares.uploads import receive_form
from ..json_body import read_json
from . import bp
from .auth import require_caller
from .representation import iso


@bp.post("/shares")
@require_caller
def post_share():
    """Create a share from a multipart upload with one ``files`` part per file.

    The JSON body ``{"draft": true}`` instead creates a draft share without files, which
    resumable uploads fill.

    :raise 400: no files, a malformed body, or a ``verification`` other than code or none.
    :raise 413: the body is larger than ``MAILGRIP_MAX_UPLOAD_BYTES``.
    """
    if request.mimetype == "application/json":
        return _post_draft_share()
    storage = current_storage()
    form = receive_form(
        request.stream,
        request.headers.get("Content-Type"),
        request.content_length,
        storage,
        current_settings().max_upload_bytes,
    )
    try:
        created = create_share(
            g.mailbox, form.files, verification=form.fields.get("verification", "code")
        )
        db.session.commit()
    except BaseException:
        # Stored bytes that no share refers to would never be deleted.
        db.session.rollback()
        form.discard(storage)
        raise
    return share_json(created), 201


def _post_draft_share():
    body = read_json()
    if not isinstance(body, dict) or body.get("draft") is not True:
        raise BadRequest(
            "Send the files as multipart/form-data, one part named 'files' per file, or send "
            'the JSON object {"draft": true} to create a draft share for resumable uploads.'
        )
    created = create_draft_share(g.mailbox, verification=body.get("verification", "code"))
    db.session.commit()
    return share_json(created), 201


def share_json(created: CreatedShare) -> dict[str, Any]:
    """Return the API form of a newly created share, the only one that contains its URLs."""
    share = created.share
    return {
        "id": share.id,
        "link": created.link,
        "openTrackingUrl": created.open_tracking_url,
        "expiresAt": iso(share.expires_at),
        "verification": share.verification,
        "files": [
            {
                "id": file.id,
                "name": file.display_name,
                "size": file.size,
                "contentType": file.content_type,
                "sha256": file.sha256,
            }
            for file in share.files
        ],
    }
