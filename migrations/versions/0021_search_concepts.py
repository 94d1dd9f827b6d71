"""search concepts: postings carry the field's weight; the index is rebuilt with concepts

Revision ID: 0021_search_concepts
Revises: 0023_feedback
Create Date: 2026-12-06 04:40:00

Directory search now understands the matching engine's concepts and ranks by relevance
(directory/search.py): every profile's postings gain the thesaurus concepts its texts mention
("#bookkeeping") and the weight of the field they come from (2 name or solution title, 1
elsewhere). The covering index grows by the weight, so ranking reads postings from the index
alone. The upgrade re-indexes every existing profile, so search works right after it; the
downgrade drops the weights and the concept postings (the plain words stay, as before).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from matchmaker.directory import indexing

revision = "0021_search_concepts"
down_revision = "0023_feedback"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("profile_words", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("weight", sa.SmallInteger(), server_default="1", nullable=False)
        )
        batch_op.create_index(
            "ix_profile_words_word_id_profile_id_weight",
            ["word_id", "profile_id", "weight"],
            unique=False,
        )
        batch_op.drop_index("ix_profile_words_word_id_profile_id")
    # On the migration's own connection: inside its transaction, seeing the new column.
    session = Session(bind=op.get_bind())
    indexing.rebuild_index(session)
    session.commit()  # joined to the migration's transaction: flushes, commits nothing else
    session.close()


def downgrade():
    search_words = sa.table("search_words", sa.column("id", sa.Integer), sa.column("word"))
    profile_words = sa.table("profile_words", sa.column("word_id", sa.Integer))
    concepts = sa.select(search_words.c.id).where(search_words.c.word.like("#%"))
    op.execute(profile_words.delete().where(profile_words.c.word_id.in_(concepts)))
    op.execute(search_words.delete().where(search_words.c.word.like("#%")))
    with op.batch_alter_table("profile_words", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_words_word_id_profile_id", ["word_id", "profile_id"], unique=False
        )
        batch_op.drop_index("ix_profile_words_word_id_profile_id_weight")
        batch_op.drop_column("weight")
