"""Record the SQL statements of a request (statement-count tests of the hot pages)."""

from sqlalchemy import event as sa_event

from matchmaker.extensions import db


def statements_of(client, url: str, headers: dict | None = None) -> list[str]:
    """GET ``url`` as a worker's fresh request would (nothing loaded); return its statements.

    The test's session is expired first, so nothing the test loaded saves the request a query.
    """
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    db.session.expire_all()
    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url, headers=headers or {})
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return seen


def reading(statements: list[str], table: str) -> list[str]:
    """Return the statements that read ``table`` (its name after FROM or JOIN)."""
    return [
        s
        for s in statements
        if s.startswith("SELECT") and (f"FROM {table} " in f"{s} " or f"JOIN {table} " in s)
    ]
