"""Bulk import of profiles from JSON (the matching-dev.json format) or CSV.

Every row is validated first; each bad row is reported with its line and the
reason, and nothing is written unless every row is valid. A row's ``id`` becomes
the profile's external reference, so importing the same file again updates the
profiles instead of duplicating them.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from matchmaker.directory import indexing, queries, services, taxonomy
from matchmaker.directory.forms import MAX_TAG_LENGTH, MAX_TAGS, MAX_TEXT
from matchmaker.directory.models import LANGUAGES, MATURITIES, Profile
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
class ImportReport:
    """What an import did or would do."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

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


def read_csv_rows(text: str) -> list[tuple[int, str, object]]:
    """Return (line, kind, row) for every data row of a CSV file with a header row."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "id" not in header or "name" not in header:
        raise ImportFileError(_("The CSV header must name at least the columns id and name."))
    reader.fieldnames = header
    rows: list[tuple[int, str, object]] = []
    line = reader.line_num + 1
    for raw in reader:
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        kind = row.get("kind", "").lower() or ("startup" if row.get("offering") else "sme")
        for key in ("tags", "categories"):
            row[key] = [p.strip() for p in row.get(key, "").split(";") if p.strip()]
        rows.append((line, kind, row))
        line = reader.line_num + 1
    return rows


def read_rows(data: bytes, filename: str) -> list[tuple[int, str, object]]:
    """Decode an uploaded or local file and return its rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not UTF-8 encoded text.")) from exc
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


def _categories(row: dict, key: str = "categories") -> list[str]:
    codes = _string_list(row, key)
    known = {c.code for c in taxonomy.categories_by_code(codes)}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(_("Unknown AI use case: %(codes)s.", codes=", ".join(unknown)))
    return codes


def _solutions(row: dict) -> list[dict] | None:
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
                    "categories": _categories(item),
                    "maturity": maturity,
                    "references": _text({"references": references}, "references", 2000),
                    "pricing": _text(item, "pricing", 200),
                }
            )
        except ValueError as exc:
            raise ValueError(_("Solution %(n)d: %(msg)s", n=number, msg=exc)) from exc
    return solutions


def clean_row(kind: str, row: object) -> dict:
    """Validate one row and return the profile data, or raise ValueError with the reason."""
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
        "categories": _categories(row),
        "solutions": _solutions(row) if kind == "startup" else None,
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
    sector = taxonomy.sector_by_code(sector_code or sector_text)
    if sector_code and sector is None:
        raise ValueError(_("Unknown sector code: %(code)s.", code=sector_code))
    if sector is None and sector_text:
        sector = taxonomy.classify_sector(sector_text)
    data["sector"] = sector
    data["sector_detail"] = "" if sector_text == (sector.code if sector else None) else sector_text
    return data


def validate_rows(rows: list[tuple[int, str, object]]) -> ImportReport:
    """Validate every row; collect all errors with their lines."""
    report = ImportReport()
    seen: dict[str, int] = {}
    existing = dict(
        db.session.execute(
            db.select(Profile.external_ref, Profile.kind).where(Profile.external_ref.is_not(None))
        ).all()
    )
    for line, kind, row in rows:
        ref = row.get("id", "") if isinstance(row, dict) else ""
        try:
            data = clean_row(kind, row)
            if data["ref"] in seen:
                raise ValueError(
                    _("The id appears twice (first in line %(line)d).", line=seen[data["ref"]])
                )
            if existing.get(data["ref"], kind) != kind:
                raise ValueError(_("A profile of the other kind already has this id."))
            seen[data["ref"]] = line
            report.rows.append(data)
            if data["ref"] in existing:
                report.updated += 1
            else:
                report.created += 1
        except ValueError as exc:
            report.errors.append(RowError(line=line, ref=str(ref), message=str(exc)))
    return report


# -- writing -----------------------------------------------------------------------------


def import_profiles(data: bytes, filename: str, *, dry_run: bool = False) -> ImportReport:
    """Validate a file and, when every row is valid and it is no dry run, write it (no commit)."""
    report = validate_rows(read_rows(data, filename))
    if not report.ok or dry_run:
        return report
    with indexing.batch():  # one batch of index writes for the whole file
        for row in report.rows:
            write_row(row)
    return report


def write_row(row: dict) -> Profile:
    """Create or update the profile of one validated row."""
    profile = queries.find_by_ref(row["ref"])
    fields = {k: v for k, v in row.items() if k not in ("ref", "kind", "solutions")}
    if profile is None:
        profile = services.create_profile(row["kind"], fields, owner=None)
        profile.external_ref = row["ref"]
    else:
        services.update_profile(profile, fields)
    if row.get("solutions") is not None:
        profile.solutions.clear()
        db.session.flush()
        for solution in row["solutions"]:
            services.save_solution(profile, solution)
    return profile
