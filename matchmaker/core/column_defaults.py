"""The models' column defaults for INSERTs that SQLAlchemy nests in one statement (CTEs).

SQLAlchemy evaluates a column's Python-side default (``default=utcnow``, ``default=False``) for
the INSERT of a statement, but of several INSERTs in the CTEs of one statement only for the
last one compiled: the others' defaults would go as NULL (its ``crud`` module says so). A
statement with more than one INSERT therefore names its defaults itself:
:meth:`ColumnDefaults.fill` adds a bind parameter per default-holding column an INSERT does not
set, and :meth:`ColumnDefaults.params` evaluates them, from the models' own declarations, per
execution.
"""

from typing import Any

from sqlalchemy import Column, Table, bindparam


class ColumnDefaults:
    """Bind parameters carrying the defaults of the columns several nested INSERTs leave out."""

    def __init__(self) -> None:
        self._columns: dict[str, Column] = {}

    def fill(self, table: Table, values: dict[str, Any]) -> dict[str, Any]:
        """Return ``values`` (column name: expression) with the defaults of the other columns.

        A default that is an SQL expression is used as it is; a Python value or function
        becomes a bind parameter that :meth:`params` fills.
        """
        filled = dict(values)
        for column in table.columns:
            default = column.default
            if column.key in values or default is None or default.is_sequence:
                continue
            if default.is_clause_element:
                filled[column.key] = default.arg
                continue
            name = f"default_{table.name}_{column.key}"
            self._columns[name] = column
            filled[column.key] = bindparam(name, type_=column.type)
        return filled

    def params(self) -> dict[str, Any]:
        """Evaluate the defaults :meth:`fill` named (a function's once per execution)."""
        return {name: _evaluate(column) for name, column in self._columns.items()}


def _evaluate(column: Column) -> Any:
    default = column.default
    # SQLAlchemy wraps a default function into one taking the execution context; the
    # models' default functions use none.
    return default.arg(None) if default.is_callable else default.arg
