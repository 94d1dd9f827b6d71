"""Record the SQL statements an action sends (statement-count tests of the command line,
the organisers' pages and the schedule build)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event as sa_event

from matchmaker.extensions import db


@dataclass(frozen=True)
class Statement:
    """One statement as sent: its text on one line and its parameters."""

    sql: str
    parameters: object


@contextmanager
def recorded_statements() -> Iterator[list[Statement]]:
    """Collect every statement sent inside the ``with`` block."""
    seen: list[Statement] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(Statement(" ".join(statement.split()), parameters))

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)


def starting(statements: list[Statement], prefix: str) -> list[Statement]:
    """Return the statements whose text starts with ``prefix``."""
    return [s for s in statements if s.sql.startswith(prefix)]
