"""overview rankings: every SME's best startups, ranked once per model artefact

The fit stores, next to each artefact, the pairs the organisers' match overview lists, so a
page of the overview filters and sorts stored pairs instead of ranking every SME. Artefacts
stored before this revision have none: the job worker's next maintenance run ranks the newest
one (the overview says it is being prepared until then). Downgrading drops the rankings only.

Revision ID: 0026_overview_ranking
Revises: 0025_job_pruning
Create Date: 2026-12-06 13:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0026_overview_ranking"
down_revision = "0025_job_pruning"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "overview_rankings",
        sa.Column("artefact_id", sa.Integer(), nullable=False),
        sa.Column("pair_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artefact_id"],
            ["model_artefacts.id"],
            name=op.f("fk_overview_rankings_artefact_id_model_artefacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artefact_id", name=op.f("pk_overview_rankings")),
    )


def downgrade():
    op.drop_table("overview_rankings")
