"""Paths of the task pane's templates, static files and npm packages."""

from __future__ import annotations

import os
from pathlib import Path

# This file is <repo>/server/mailgrip/web/taskpane_files.py, and the pane's files live in
# <repo>/taskpane. Blueprint folders are fixed at import, so the override comes from the
# environment rather than from per-app settings.
TASKPANE_DIR = Path(
    os.environ.get("MAILGRIP_TASKPANE_DIR") or Path(__file__).resolve().parents[3] / "taskpane"
).resolve()
