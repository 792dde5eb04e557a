"""Flask extensions other than the database, created once and bound in ``create_app``."""

from flask import request
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

# Languages that user-facing text ships in; English is the source language.
LANGUAGES = ("en", "nl")

babel = Babel()
csrf = CSRFProtect()
migrate = Migrate()


def select_locale() -> str:
    """Pick the user's language from Accept-Language, English when none matches."""
    return request.accept_languages.best_match(LANGUAGES) or "en"
