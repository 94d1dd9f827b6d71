"""seat counters on the event row

A registration decides on the seats from counters on the event's row, read by the statement that
locks it, instead of counting the event's attendees under the lock: per participant type the
seats of confirmed registrations (their active attendees) and the registrations waiting. The
upgrade counts them for the existing events; downgrading drops them.

Revision ID: 0027_event_seat_counts
Revises: 0026_overview_ranking
Create Date: 2026-12-06 16:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0027_event_seat_counts"
down_revision = "0026_overview_ranking"
branch_labels = None
depends_on = None

KINDS = ("sme", "startup")
SEATS = """(SELECT count(*) FROM attendees a
    JOIN registrations r ON r.id = a.registration_id JOIN profiles p ON p.id = r.profile_id
    WHERE a.event_id = events.id AND a.cancelled_at IS NULL AND r.status = 'confirmed'
    AND p.kind = '{kind}')"""
WAITING = """(SELECT count(*) FROM registrations r JOIN profiles p ON p.id = r.profile_id
    WHERE r.event_id = events.id AND r.status = 'waiting' AND p.kind = '{kind}')"""


def upgrade():
    # plain ALTER TABLE also on SQLite: a batch operation would copy the table and drop the old
    # one, and dropping it deletes the registrations (ON DELETE CASCADE)
    for kind in KINDS:
        for counter in ("seats_taken", "waiting"):
            op.add_column(
                "events",
                sa.Column(f"{kind}_{counter}", sa.Integer(), nullable=False, server_default="0"),
            )
    counted = ", ".join(
        f"{kind}_seats_taken = {SEATS.format(kind=kind)}, "
        f"{kind}_waiting = {WAITING.format(kind=kind)}"
        for kind in KINDS
    )
    op.execute(f"UPDATE events SET {counted}")  # noqa: S608 - constants only


def downgrade():
    for kind in KINDS:
        for counter in ("seats_taken", "waiting"):
            op.drop_column("events", f"{kind}_{counter}")
