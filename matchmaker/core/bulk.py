"""Insert many rows of plain values in few statements, on PostgreSQL and on SQLite.

An executemany of hundreds of thousands of rows (the search postings of an import of 5,000
profiles) costs the PostgreSQL driver a round of Python work per row. On PostgreSQL the rows
go instead as one array per column in ``INSERT ... SELECT * FROM unnest(...)``: one statement
per chunk, the same rows (a JSON column's values go as their JSON texts). SQLite's executemany
is fast already and stays.
"""

import json
from collections.abc import Sequence

from sqlalchemy import JSON, Table, text
from sqlalchemy.orm import Session

#: Rows per statement on PostgreSQL (arrays of this length, one per column).
CHUNK = 50_000
_ARRAY_TYPES = (int, str, float, bool)


def insert_rows(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert rows that all set the same columns of plain values (no commit)."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    if dialect.name != "postgresql" or not all(
        name in json_columns or table.c[name].type.python_type in _ARRAY_TYPES for name in columns
    ):
        session.execute(table.insert(), list(rows))
        return
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns
    )
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    statement = text(
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted}) "  # noqa: S608 - names from the table's own metadata
        f"SELECT * FROM unnest({arrays})"
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        arrays = {name: [row[name] for row in chunk] for name in columns}
        for name in json_columns:
            arrays[name] = [json.dumps(value) for value in arrays[name]]
        session.execute(statement, arrays)
