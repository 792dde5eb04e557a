"""Graph ``mailFolder`` resources: ``GET /users/{id}/mailFolders/{id or well-known name}``."""

from __future__ import annotations

from flask import jsonify

from .context import current_emulator
from .graph import READ_PERMISSIONS, _context_owner, _folder, _mailbox_user, _routes
from .state import FOLDER_DISPLAY_NAMES


@_routes("/mailFolders/<folder>", endpoint="get_mail_folder")
def get_mail_folder(user: str | None, folder: str):
    """Return one folder of a mailbox that the token may open, with its item counts.

    NOTE: ``parentFolderId`` is left out, because the emulator has no root folder to name.
    """
    owner = _mailbox_user(user, READ_PERMISSIONS)
    name = _folder(owner, folder)
    state = current_emulator().state
    config = current_emulator().config

    def describe() -> dict:
        messages = state.messages_in(owner.id, name)
        return {
            "@odata.context": f"{config.graph_base}/$metadata#{_context_owner(user)}"
            "/mailFolders/$entity",
            "id": state.folder_id(owner.id, name),
            "displayName": FOLDER_DISPLAY_NAMES.get(name, name),
            "childFolderCount": 0,
            "unreadItemCount": sum(1 for item in messages if not item.is_read),
            "totalItemCount": len(messages),
            "isHidden": False,
        }

    return jsonify(state.locked(describe))
