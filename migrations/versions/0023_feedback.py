"""feedback: verdicts on suggestions, meeting ratings, fitted re-rankers

Revision ID: 0023_feedback
Revises: 0022_dashboard_reminders
Create Date: 2026-12-06 04:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023_feedback"
down_revision = "0022_dashboard_reminders"
branch_labels = None
depends_on = None


def _profile_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["profiles.id"], name=op.f(f"fk_{table}_{column}_profiles"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "suggestion_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("viewer_profile_id", sa.Integer(), nullable=False),
        sa.Column("suggested_profile_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "viewer_profile_id <> suggested_profile_id",
            name=op.f("ck_suggestion_marks_not_to_self"),
        ),
        sa.CheckConstraint(
            "verdict IN ('fits', 'no_fit')", name=op.f("ck_suggestion_marks_verdict_known")
        ),
        _profile_fk("suggestion_marks", "viewer_profile_id"),
        _profile_fk("suggestion_marks", "suggested_profile_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_marks")),
        sa.UniqueConstraint(
            "viewer_profile_id",
            "suggested_profile_id",
            name="uq_suggestion_marks_viewer_profile_id_suggested_profile_id",
        ),
    )
    with op.batch_alter_table("suggestion_marks", schema=None) as batch_op:
        for column in ("viewer_profile_id", "suggested_profile_id"):
            batch_op.create_index(batch_op.f(f"ix_suggestion_marks_{column}"), [column])
    op.create_table(
        "meeting_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("meeting_key", sa.String(length=40), nullable=False),
        sa.Column("rater_profile_id", sa.Integer(), nullable=False),
        sa.Column("partner_profile_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_meeting_ratings_stars_range")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_meeting_ratings_event_id_events"),
            ondelete="CASCADE",
        ),
        _profile_fk("meeting_ratings", "rater_profile_id"),
        _profile_fk("meeting_ratings", "partner_profile_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_ratings")),
        sa.UniqueConstraint(
            "event_id",
            "meeting_key",
            "rater_profile_id",
            name="uq_meeting_ratings_event_id_meeting_key_rater_profile_id",
        ),
    )
    with op.batch_alter_table("meeting_ratings", schema=None) as batch_op:
        for column in ("event_id", "rater_profile_id", "partner_profile_id"):
            batch_op.create_index(batch_op.f(f"ix_meeting_ratings_{column}"), [column])
    op.create_table(
        "reranker_artefacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("profiles_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reranker_artefacts")),
    )


def downgrade():
    op.drop_table("reranker_artefacts")
    with op.batch_alter_table("meeting_ratings", schema=None) as batch_op:
        for column in ("partner_profile_id", "rater_profile_id", "event_id"):
            batch_op.drop_index(batch_op.f(f"ix_meeting_ratings_{column}"))
    op.drop_table("meeting_ratings")
    with op.batch_alter_table("suggestion_marks", schema=None) as batch_op:
        for column in ("suggested_profile_id", "viewer_profile_id"):
            batch_op.drop_index(batch_op.f(f"ix_suggestion_marks_{column}"))
    op.drop_table("suggestion_marks")
