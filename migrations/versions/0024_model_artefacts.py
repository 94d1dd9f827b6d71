"""model artefacts: the fitted matching engine, stored once per data version

Web workers load the newest artefact instead of fitting the engine themselves; a job adds a
new one whenever the profiles change. Staged imports may now belong to no account (a large
import started from the command line runs as a job from a staged file).

Revision ID: 0024_model_artefacts
Revises: 0021_search_concepts
Create Date: 2026-12-06 04:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0024_model_artefacts"
down_revision = "0021_search_concepts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "model_artefacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("profile_count", sa.Integer(), nullable=False),
        sa.Column("fit_seconds", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_artefacts")),
    )
    with op.batch_alter_table("model_artefacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_artefacts_data_version"), ["data_version"], unique=False
        )
    with op.batch_alter_table("staged_imports", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM staged_imports WHERE user_id IS NULL")
    with op.batch_alter_table("staged_imports", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("model_artefacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_artefacts_data_version"))
    op.drop_table("model_artefacts")
