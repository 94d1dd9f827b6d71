"""Bulk import of profiles from JSON (the matching-dev.json format), CSV or XLSX.

Every row is validated first; each bad row is reported with its line and the
reason, and nothing is written unless every row is valid. A row's ``id`` becomes
the profile's external reference, so importing the same file again updates the
profiles instead of duplicating them.

Why one file of ~570 lines: reading the three formats, validating a row and staging a browser
upload for its preview are one pipeline with one error type and one row shape; the views
(``import_views.py``) and the CLI only call ``import_profiles``/``stage_upload``.
"""

import csv
import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import openpyxl
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import delete, select

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.core.safe_csv import restore_cell
from matchmaker.directory import bulk_writing, indexing, taxonomy
from matchmaker.directory.bulk_writing import Taxonomy
from matchmaker.directory.forms import MAX_TAG_LENGTH, MAX_TAGS, MAX_TEXT
from matchmaker.directory.models import LANGUAGES, MATURITIES, Profile, StagedImport
from matchmaker.extensions import db

REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
SECTIONS = {"smes": "sme", "startups": "startup"}
TEXT_KEY = {"sme": "needs", "startup": "offering"}
CSV_COLUMNS = (
    "kind",
    "id",
    "name",
    "sector",
    "sector_code",
    "city",
    "region",
    "employees",
    "language",
    "website",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "categories",
    "tags",
    "needs",
    "offering",
)


@dataclass
class RowError:
    """One invalid row: where it is and what is wrong."""

    line: int
    ref: str
    message: str

    def __str__(self) -> str:
        where = _("line %(line)d", line=self.line)
        return f"{where} ({self.ref or '?'}): {self.message}"


@dataclass
class PlannedRow:
    """One valid row and whether it creates a profile or updates one."""

    line: int
    ref: str
    kind: str
    name: str
    creates: bool


@dataclass
class ImportReport:
    """What an import did or would do."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    planned: list[PlannedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every row was valid."""
        return not self.errors


class ImportFileError(ValueError):
    """The file as a whole cannot be read (syntax, encoding, structure)."""


# -- reading -----------------------------------------------------------------------------


class _LineCounter:
    """Line numbers of increasing positions in a text, counted once (not from the start)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def read_json_rows(text: str) -> list[tuple[int, str, object]]:
    """Return (line, kind, row) for every element of ``smes`` and ``startups``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid JSON (line %(line)d: %(msg)s).", line=exc.lineno, msg=exc.msg)
        ) from exc
    if not isinstance(document, dict) or not any(k in document for k in SECTIONS):
        raise ImportFileError(_("The JSON file needs a list “smes” and/or a list “startups”."))
    for key in SECTIONS:
        if key in document and not isinstance(document[key], list):
            raise ImportFileError(_("“%(key)s” must be a list.", key=key))
    # Walk the top-level object once more to learn where each element starts.
    decoder = json.JSONDecoder()
    lines = _LineCounter(text)
    rows: list[tuple[int, str, object]] = []
    pos = _skip_ws(text, 0) + 1
    while True:
        pos = _skip_ws(text, pos)
        if text[pos] == "}":
            break
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip_ws(text, pos) + 1  # the colon
        pos = _skip_ws(text, pos)
        if key in SECTIONS and text[pos] == "[":
            pos = _skip_ws(text, pos + 1)
            while text[pos] != "]":
                line = lines.at(pos)
                value, pos = decoder.raw_decode(text, pos)
                rows.append((line, SECTIONS[key], value))
                pos = _skip_ws(text, pos)
                if text[pos] == ",":
                    pos = _skip_ws(text, pos + 1)
            pos += 1
        else:
            _skipped, pos = decoder.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos += 1
    return rows


#: Between the items of a list cell (tags, categories), by the file's column delimiter:
#: German Excel writes ``;`` between columns, so lists there use ``,`` or ``|``.
LIST_SEPARATORS = {",": ";|", "\t": ";|", ";": ",;|", "xlsx": ";|"}


@dataclass
class Unreadable:
    """A stretch of a file that could not be read as a row; validation reports it."""

    message: str
    ref: str = ""


def _list_cell(value: str, separators: str) -> list[str]:
    return [p.strip() for p in re.split(f"[{re.escape(separators)}]", value) if p.strip()]


def _table_row(header: list[str], cells: list[str], separators: str) -> tuple[str, dict]:
    """Turn one row of cells into (kind, row) with list cells split."""
    # a row may leave out empty cells at its end (strict=False); longer rows never get here
    pairs = zip(header, cells, strict=False)
    row = {key: restore_cell(cell.strip()) for key, cell in pairs if key}
    kind = row.get("kind", "").lower() or ("startup" if row.get("offering") else "sme")
    for key in ("tags", "categories"):
        row[key] = _list_cell(row.get(key, ""), separators)
    return kind, row


def _clean_header(cells: list[str]) -> list[str]:
    header = [restore_cell(h.strip()).lower() for h in cells]
    if "id" not in header or "name" not in header:
        raise ImportFileError(_("The header row must name at least the columns id and name."))
    return header


def detect_delimiter(text: str) -> str:
    """Return the column delimiter of a CSV text: the most frequent of , ; tab in its header."""
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv_rows(text: str) -> list[tuple[int, str, object]]:
    """Return (line, kind, row) for every data row of a CSV file with a header row.

    An opening quote that is never closed would swallow the rows after it; it is reported
    as an error at the line where the quote opened, and nothing after it is read.
    """
    delimiter = detect_delimiter(text)
    separators = LIST_SEPARATORS[delimiter]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, str, object]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            message = _(
                "A quote opened in this line is not closed; the rest of the file was not read."
            )
            rows.append((line, "", Unreadable(message)))
            break
        if header is None:
            header = _clean_header(cells)
            continue
        if not any(c.strip() for c in cells):
            continue
        ref = cells[header.index("id")] if len(cells) > header.index("id") else ""
        spans_lines = reader.line_num > line
        if len(cells) > len(header) or (spans_lines and len(cells) != len(header)):
            message = _(
                "%(found)d columns instead of %(expected)d (is a quote not closed?).",
                found=len(cells),
                expected=len(header),
            )
            rows.append((line, "", Unreadable(message, ref)))
            continue
        kind, row = _table_row(header, cells, separators)
        rows.append((line, kind, row))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return rows


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def read_xlsx_rows(data: bytes) -> list[tuple[int, str, object]]:
    """Return (line, kind, row) for every data row of the first sheet of an Excel file."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("The Excel file cannot be read (is it an .xlsx file?).")) from exc
    try:
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[tuple[int, str, object]] = []
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_cell(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = _clean_header(cells)
                continue
            kind, row = _table_row(header, cells, LIST_SEPARATORS["xlsx"])
            rows.append((line, kind, row))
    finally:
        workbook.close()
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return rows


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without byte-order mark), else Windows-1252 (German Excel)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is neither UTF-8 nor Windows-1252 text.")) from exc


def read_rows(data: bytes, filename: str) -> list[tuple[int, str, object]]:
    """Read an uploaded or local file (JSON, CSV or XLSX) and return its rows."""
    if filename.lower().endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        return read_xlsx_rows(data)
    text = decode_text(data)
    if filename.lower().endswith(".json") or text.lstrip().startswith("{"):
        return read_json_rows(text)
    return read_csv_rows(text)


# -- validating --------------------------------------------------------------------------


def _text(row: dict, key: str, limit: int, *, required: bool = False) -> str:
    value = row.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(_("“%(key)s” is missing.", key=key))
        return ""
    if not isinstance(value, str):
        raise ValueError(_("“%(key)s” must be text.", key=key))
    value = value.strip()
    if required and not value:
        raise ValueError(_("“%(key)s” is empty.", key=key))
    if len(value) > limit:
        raise ValueError(_("“%(key)s” is longer than %(limit)d characters.", key=key, limit=limit))
    return value


def _string_list(row: dict, key: str) -> list[str]:
    value = row.get(key) or []
    if isinstance(value, str):
        value = [p.strip() for p in value.split(";") if p.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(_("“%(key)s” must be a list of texts.", key=key))
    return [v.strip() for v in value if v.strip()]


def _employees(row: dict) -> int | None:
    value = row.get("employees")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(_("“employees” must be a whole number."))
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(_("“employees” must be a whole number."))
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ValueError(_("“employees” must be a whole number between 1 and 1,000,000."))
    return value


def _categories(row: dict, known: Taxonomy, key: str = "categories") -> list[str]:
    codes = _string_list(row, key)
    unknown = [c for c in codes if c not in known.categories]
    if unknown:
        raise ValueError(_("Unknown AI use case: %(codes)s.", codes=", ".join(unknown)))
    return codes


def _solutions(row: dict, known: Taxonomy) -> list[dict] | None:
    value = row.get("solutions")
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(_("“solutions” must be a list."))
    solutions = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise ValueError(_("Solution %(n)d is not an object.", n=number))
        try:
            maturity = item.get("maturity") or "product"
            if maturity not in MATURITIES:
                raise ValueError(_("maturity must be idea, pilot or product."))
            references = item.get("references") or ""
            if isinstance(references, list):
                references = ", ".join(str(r) for r in references)
            solutions.append(
                {
                    "title": _text(item, "title", 200, required=True),
                    "description": _text(item, "description", MAX_TEXT, required=True),
                    "categories": _categories(item, known),
                    "maturity": maturity,
                    "references": _text({"references": references}, "references", 2000),
                    "pricing": _text(item, "pricing", 200),
                }
            )
        except ValueError as exc:
            raise ValueError(_("Solution %(n)d: %(msg)s", n=number, msg=exc)) from exc
    return solutions


def clean_row(kind: str, row: object, known: Taxonomy | None = None) -> dict:
    """Validate one row and return the profile data, or raise ValueError with the reason.

    ``known``: the taxonomy read once for the whole file (read here when not given).
    """
    known = known if known is not None else Taxonomy.load()
    if isinstance(row, Unreadable):
        raise ValueError(row.message)
    if kind not in SECTIONS.values():
        raise ValueError(_("“kind” must be sme or startup."))
    if not isinstance(row, dict):
        raise ValueError(_("The entry is not an object."))
    ref = row.get("id")
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not REF_RE.match(ref.strip()):
        raise ValueError(_("“id” is missing or has characters other than letters, digits, . _ : -"))
    text_key = TEXT_KEY[kind]
    if not row.get(text_key) and row.get("description"):
        text_key = "description"
    data = {
        "ref": ref.strip(),
        "kind": kind,
        "name": _text(row, "name", 200, required=True),
        "description": _text(row, text_key, MAX_TEXT, required=True),
        "city": _text(row, "city", 120),
        "region": _text(row, "region", 120),
        "employees": _employees(row),
        "website": _text(row, "website", 300),
        "contact_name": _text(row, "contact_name", 120),
        "contact_role": _text(row, "contact_role", 120),
        "contact_email": _text(row, "contact_email", 254),
        "contact_phone": _text(row, "contact_phone", 60),
        "tags": _string_list(row, "tags"),
        "categories": _categories(row, known),
        "solutions": _solutions(row, known) if kind == "startup" else None,
    }
    language = row.get("language") or "de"
    if language not in LANGUAGES:
        raise ValueError(_("“language” must be de, en or mixed."))
    data["language"] = language
    if len(data["tags"]) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in data["tags"]):
        raise ValueError(_("At most 20 keywords of at most 60 characters each."))
    if data["website"] and not re.match(r"^https?://[^\s/]+\.[^\s]+$", data["website"]):
        raise ValueError(_("“website” must be a web address starting with http:// or https://."))
    if data["contact_email"]:
        try:
            validate_email(data["contact_email"], check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValueError(_("“contact_email” is not a valid e-mail address.")) from exc
    sector_text = _text(row, "sector", 200)
    sector_code = _text(row, "sector_code", 40)
    sector = known.sector(sector_code or sector_text)
    if sector_code and sector is None:
        raise ValueError(_("Unknown sector code: %(code)s.", code=sector_code))
    if sector is None and sector_text:
        sector = taxonomy.classify_sector(sector_text, known.sectors)
    data["sector"] = sector
    data["sector_detail"] = "" if sector_text == (sector.code if sector else None) else sector_text
    return data


def validate_rows(rows: list[tuple[int, str, object]]) -> ImportReport:
    """Validate every row; collect all errors with their lines."""
    report = ImportReport()
    seen: dict[str, int] = {}
    known = Taxonomy.load()
    existing = dict(
        db.session.execute(
            db.select(Profile.external_ref, Profile.kind).where(Profile.external_ref.is_not(None))
        ).all()
    )
    for line, kind, row in rows:
        ref = row.get("id", "") if isinstance(row, dict) else getattr(row, "ref", "")
        try:
            data = clean_row(kind, row, known)
            if data["ref"] in seen:
                raise ValueError(
                    _("The id appears twice (first in line %(line)d).", line=seen[data["ref"]])
                )
            if existing.get(data["ref"], kind) != kind:
                raise ValueError(_("A profile of the other kind already has this id."))
            seen[data["ref"]] = line
            report.rows.append(data)
            creates = data["ref"] not in existing
            report.planned.append(PlannedRow(line, data["ref"], kind, data["name"], creates))
            if creates:
                report.created += 1
            else:
                report.updated += 1
        except ValueError as exc:
            report.errors.append(RowError(line=line, ref=str(ref), message=str(exc)))
    return report


# -- writing -----------------------------------------------------------------------------


#: Rows written in bulk between two progress reports of an import.
PROGRESS_ROWS = 500


def import_profiles(
    data: bytes,
    filename: str,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Validate a file and, when every row is valid and it is no dry run, write it (no commit).

    ``progress(step, done, total)`` hears ``"validating"`` once, then ``"importing"`` before
    the first row and after every ``PROGRESS_ROWS`` rows written.
    """
    rows = read_rows(data, filename)
    if progress is not None:
        progress("validating", 0, len(rows))
    report = validate_rows(rows)
    if report.ok and not dry_run:
        write_valid(report, progress)
    return report


def write_valid(
    report: ImportReport, progress: Callable[[str, int, int], None] | None = None
) -> None:
    """Write the rows of a report whose every row is valid, validated in this transaction.

    For a caller that looked at the validation first (the command line decides between
    writing here and an import job); ``progress`` as in :func:`import_profiles`.
    """
    if not report.ok:
        raise ValueError("only a report without errors can be written")
    # the rows are written in bulk, a chunk at a time (bulk_writing), with one batch of
    # index writes and one bump of the profiles version for the whole file
    existing = bulk_writing.existing_ids([row["ref"] for row in report.rows])
    known = bulk_writing.Taxonomy.load()
    total = len(report.rows)
    with indexing.batch():
        for done in range(0, total, PROGRESS_ROWS):
            if progress is not None:
                progress("importing", done, total)
            bulk_writing.write_rows(report.rows[done : done + PROGRESS_ROWS], existing, known)


def count_rows(data: bytes, filename: str) -> int:
    """Return the number of rows of a file (raise ImportFileError when it cannot be read)."""
    return len(read_rows(data, filename))


# -- staging between preview and confirmation ----------------------------------------------

#: How long an uploaded file waits for the organiser's confirmation.
STAGED_LIFETIME = timedelta(hours=1)


def discard_expired_uploads() -> int:
    """Delete staged files whose confirmation time has passed (they hold contact data)."""
    result = db.session.execute(delete(StagedImport).where(StagedImport.expires_at < utcnow()))
    return result.rowcount or 0


def stage_upload(user: User | None, filename: str, data: bytes) -> StagedImport:
    """Keep an uploaded file for its preview and confirmation; drop expired ones (no commit).

    ``user`` is None for a file the command line hands to an import job.
    """
    discard_expired_uploads()
    staged = StagedImport(
        token=secrets.token_urlsafe(32),
        user_id=user.id if user is not None else None,
        filename=filename[:255],
        data=data,
        expires_at=utcnow() + STAGED_LIFETIME,
    )
    db.session.add(staged)
    db.session.flush()
    return staged


def find_staged_file(token: str) -> StagedImport | None:
    """Return a staged file by its token whoever staged it (an import job runs it)."""
    return db.session.scalar(select(StagedImport).where(StagedImport.token == token))


def find_staged(token: str, user: User) -> StagedImport | None:
    """Return this organiser's staged file if it has not expired."""
    return db.session.scalar(
        select(StagedImport).where(
            StagedImport.token == token,
            StagedImport.user_id == user.id,
            StagedImport.expires_at >= utcnow(),
        )
    )


def import_staged(
    staged: StagedImport, progress: Callable[[str, int, int], None] | None = None
) -> ImportReport:
    """Run the import of a staged file; remove the file when every row was written (no commit)."""
    report = import_profiles(staged.data, staged.filename, progress=progress)
    if report.ok:
        db.session.delete(staged)
        db.session.flush()
    return report
