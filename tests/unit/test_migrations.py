"""The migrations create exactly the schema that the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from mailgrip import create_app
from mailgrip.config import Settings
from mailgrip.db import db


def test_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app(
        Settings.from_env(tmp_path, {"MAILGRIP_DATABASE_URL": url}), instance_path=str(tmp_path)
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == []
