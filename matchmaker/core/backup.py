"""Complete JSON backups of every table, and restore into an empty database.

The backup names the schema revision it was taken at; restore refuses a database at
another revision or one that already holds data, so a restore never mixes two states.
Rows are written table by table in foreign-key order; on PostgreSQL the id sequences are
moved past the restored ids afterwards.
"""

import base64
import datetime as dt
import decimal
import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.types import JSON, Date, DateTime, Interval, LargeBinary, Numeric, Time

from matchmaker.extensions import db

FORMAT = "matchmaker-backup/1"


class RestoreError(RuntimeError):
    """The backup cannot be restored into this database."""


def _revision() -> str | None:
    if not inspect(db.engine).has_table("alembic_version"):
        return None
    return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _encode(value: Any, column_type) -> Any:
    if value is None:
        return None
    if isinstance(column_type, JSON):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decode(value: Any, column_type) -> Any:
    if value is None or isinstance(column_type, JSON):
        return value
    if isinstance(column_type, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return dt.date.fromisoformat(value)
    if isinstance(column_type, Time):
        return dt.time.fromisoformat(value)
    if isinstance(column_type, Interval):
        return dt.timedelta(seconds=value)
    if isinstance(column_type, Numeric) and isinstance(value, str):
        return decimal.Decimal(value)
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    return value


# Tables of data derived from the rest, left out of a backup: the fitted matching models
# (megabytes each) and the overview ranked on them are fitted again by the job worker after
# a restore.
DERIVED_TABLES = frozenset({"model_artefacts", "overview_rankings"})


def dump() -> dict:
    """Return every row of every table as a JSON-ready document."""
    tables = {}
    for table in db.metadata.sorted_tables:
        if table.name in DERIVED_TABLES:
            tables[table.name] = []
            continue
        columns = list(table.columns)
        order = list(table.primary_key.columns) or columns
        rows = db.session.execute(select(table).order_by(*order)).all()
        tables[table.name] = [
            {c.name: _encode(row._mapping[c], c.type) for c in columns} for row in rows
        ]
    return {
        "format": FORMAT,
        "revision": _revision(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "tables": tables,
    }


def write_backup(path: Path) -> dict[str, int]:
    """Write a backup file (gzip-compressed when the name ends in .gz); return row counts."""
    document = dump()
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return {name: len(rows) for name, rows in document["tables"].items()}


def read_backup(path: Path) -> dict:
    """Read a backup file written by :func:`write_backup`."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RestoreError(f"not a backup file: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RestoreError("not a Matchmaker backup (unknown format)")
    return document


def restore(document: dict) -> dict[str, int]:
    """Insert every row of a backup into this empty database (no commit); return row counts."""
    revision = _revision()
    if document.get("revision") != revision:
        raise RestoreError(
            f"the backup is at schema revision {document.get('revision')}, this database at "
            f"{revision}; run `flask db upgrade` (or downgrade) to match first"
        )
    unknown = set(document["tables"]) - {t.name for t in db.metadata.sorted_tables}
    if unknown:
        raise RestoreError(f"the backup has unknown tables: {', '.join(sorted(unknown))}")
    for table in db.metadata.sorted_tables:
        # The seeded taxonomy (a migration) is the only data a new database already has;
        # the backup carries it too, so it is replaced rather than counted as existing data.
        if db.session.scalar(select(func.count()).select_from(table)) and table.name not in (
            "sectors",
            "categories",
        ):
            raise RestoreError(f"the database is not empty (table {table.name} has rows)")
    for table in reversed(db.metadata.sorted_tables):
        if table.name in ("sectors", "categories"):
            db.session.execute(table.delete())
    counts = {}
    for table in db.metadata.sorted_tables:
        rows = document["tables"].get(table.name, [])
        columns = {c.name: c for c in table.columns}
        decoded = [
            {
                name: _decode(value, columns[name].type)
                for name, value in row.items()
                if name in columns
            }
            for row in rows
        ]
        if decoded:
            db.session.execute(table.insert(), decoded)
        counts[table.name] = len(decoded)
    db.session.flush()
    if db.engine.dialect.name == "postgresql":
        _reset_sequences()
    return counts


def _reset_sequences() -> None:
    for table in db.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                sequence = db.session.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    # identifiers come from our own metadata, never from input
                    highest = f"SELECT MAX({column.name}) FROM {table.name}"  # noqa: S608
                    db.session.execute(
                        text(f"SELECT setval('{sequence}', COALESCE(({highest}), 0) + 1, false)")
                    )
