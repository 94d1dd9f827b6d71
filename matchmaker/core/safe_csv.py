"""CSV files that spreadsheet programs open without running formulas (OWASP CSV injection).

Every CSV download goes through :func:`csv_rows` or :func:`csv_document`. A text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read by Excel or
LibreOffice as a formula (``=HYPERLINK(...)``), so it gets a leading apostrophe, which
spreadsheet programs show as text. Numbers are written as they are: a negative score stays
a number. The importer removes the apostrophe again (:func:`restore_cell`), so an exported
file can be imported unchanged.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

#: Characters that make a spreadsheet program treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Byte-order mark: spreadsheet programs then read UTF-8 umlauts correctly.
BOM = "\ufeff"


def defuse_cell(value: object) -> object:
    """Return a text cell prefixed with an apostrophe when it could start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """Undo :func:`defuse_cell` on a cell read from a file this application wrote."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Yield a CSV file (BOM and header first) one row at a time, every text cell defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([defuse_cell(h) for h in header])
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([defuse_cell(v) for v in row])
        yield buffer.getvalue()


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a whole CSV file as text (BOM, header, rows), every text cell defused."""
    return "".join(csv_rows(header, rows))
