"""staged imports: uploaded profile files between the organiser's preview and confirmation

Revision ID: 0012_staged_imports
Revises: 0011_api_tokens
Create Date: 2026-12-06 01:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_staged_imports'
down_revision = '0011_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staged_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staged_imports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_imports')),
    sa.UniqueConstraint('token', name=op.f('uq_staged_imports_token'))
    )
    with op.batch_alter_table('staged_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_imports_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staged_imports_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staged_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_imports_user_id'))
        batch_op.drop_index(batch_op.f('ix_staged_imports_expires_at'))

    op.drop_table('staged_imports')
