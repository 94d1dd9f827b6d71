"""seats per side: optional seat limits for SMEs and for startups at an event

Both columns are NULL for existing events, which keep one capacity and one waiting list.

Revision ID: 0013_seats_per_side
Revises: 0012_staged_imports
Create Date: 2026-12-06 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_seats_per_side'
down_revision = '0012_staged_imports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sme_capacity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('startup_capacity', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('startup_capacity')
        batch_op.drop_column('sme_capacity')
