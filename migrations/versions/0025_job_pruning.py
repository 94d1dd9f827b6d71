"""outbox notices composed after the commit; pruning of ended jobs

A registration queues its e-mail as a small outbox row under the event's lock (``notice``: what
to compose) and the subject and body are written after the commit, so the lock covers only the
seat decision and a process that dies in between leaves the row to be composed later.
Ended jobs are pruned by the time they ended (``JOBS_RETENTION_DAYS``): an index on it.
A running build records the solver's phase and best schedule so far in ``jobs.detail``.
Downgrading drops notices not composed yet; run ``flask outbox send`` first.

Revision ID: 0025_job_pruning
Revises: 0024_model_artefacts
Create Date: 2026-12-06 04:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0025_job_pruning"
down_revision = "0024_model_artefacts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("notice", sa.JSON(), nullable=True))
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("detail")
    op.drop_index("ix_jobs_finished_at", table_name="jobs")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("notice")
