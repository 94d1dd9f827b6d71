"""reminders_sent: which participant got which reminder when (organisers' dashboard)

The dashboard shows the last reminder of each group; a participant reminded recently is left
out of the next reminder to the same group unless the organiser includes them explicitly.

Revision ID: 0022_dashboard_reminders
Revises: 0020_jobs
Create Date: 2026-12-06 04:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022_dashboard_reminders"
down_revision = "0020_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_reminders_sent_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_reminders_sent_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["users.id"],
            name=op.f("fk_reminders_sent_sent_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
    )
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminders_sent_event_id_audience_sent_at",
            ["event_id", "audience", "sent_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_reminders_sent_profile_id"), ["profile_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_sent_profile_id"))
        batch_op.drop_index("ix_reminders_sent_event_id_audience_sent_at")
    op.drop_table("reminders_sent")
