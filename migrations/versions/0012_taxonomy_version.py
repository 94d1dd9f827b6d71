"""taxonomy version: a data version for sectors and categories

Revision ID: 0012_taxonomy_version
Revises: 0011_api_tokens
Create Date: 2026-11-25 16:10:00

Every worker keeps the sector and category lists of the directory in memory and checks the
``taxonomy`` row of ``data_versions`` on each request (matchmaker/directory/cache.py). The
taxonomy only changes through migrations: a migration that changes sectors or categories
must bump this version the way this one does (``bump_taxonomy_version``), on upgrade and on
downgrade, so running workers reload the lists. The counter only ever grows; a downgrade
bumps it too, so no worker can mistake an older taxonomy for the one it holds.
"""

from alembic import op

revision = "0012_taxonomy_version"
down_revision = "0011_api_tokens"
branch_labels = None
depends_on = None


def bump_taxonomy_version() -> None:
    op.execute("UPDATE data_versions SET version = version + 1 WHERE name = 'taxonomy'")
    op.execute(
        "INSERT INTO data_versions (name, version) SELECT 'taxonomy', 1 "
        "WHERE NOT EXISTS (SELECT 1 FROM data_versions WHERE name = 'taxonomy')"
    )


def upgrade():
    bump_taxonomy_version()


def downgrade():
    bump_taxonomy_version()
