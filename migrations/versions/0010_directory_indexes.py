"""directory indexes: covering index for search postings, region list without deleted profiles

Revision ID: 0010_directory_indexes
Revises: 0005_privacy_audit
Create Date: 2026-11-25 14:05:00

The directory search follows postings by word id; with (word_id, profile_id) it reads the
profile ids from the index alone instead of visiting the table once per posting. The region
filter list (DISTINCT region of profiles not deleted) is answered from (region, deleted_at),
which also serves every lookup the old index on region alone did. Measured with
bench/bench_directory.py (12,000 profiles), see bench/RESULTS.md.
"""

from alembic import op

revision = "0010_directory_indexes"
down_revision = "0005_privacy_audit"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("profile_words", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_words_word_id_profile_id", ["word_id", "profile_id"], unique=False
        )
        batch_op.drop_index("ix_profile_words_word_id")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profiles_region_deleted_at", ["region", "deleted_at"], unique=False
        )
        batch_op.drop_index("ix_profiles_region")


def downgrade():
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index("ix_profiles_region", ["region"], unique=False)
        batch_op.drop_index("ix_profiles_region_deleted_at")
    with op.batch_alter_table("profile_words", schema=None) as batch_op:
        batch_op.create_index("ix_profile_words_word_id", ["word_id"], unique=False)
        batch_op.drop_index("ix_profile_words_word_id_profile_id")
