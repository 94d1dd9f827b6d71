"""Import files as organisers really have them: German Excel CSV, Windows-1252, BOM, XLSX."""

import csv
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from matchmaker.directory.models import Profile
from matchmaker.extensions import db

HEADER = ["kind", "id", "name", "city", "employees", "categories", "tags", "needs", "offering"]
SME = ["sme", "k-1", "Bäckerei Müller", "Görlitz", "12", "", "", "Rechnungen prüfen, Belege.", ""]


def startup(tags: str, categories: str = "bookkeeping") -> list[str]:
    """Return a startup row with the given list cells."""
    return ["startup", "s-1", "BelegKI Weißwasser", "Cottbus", "", categories, tags, "", "KI liest"]


def csv_bytes(rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    """Write rows as a spreadsheet program would."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def profiles() -> dict[str, Profile]:
    db.session.expire_all()
    return {p.external_ref: p for p in db.session.scalars(select(Profile))}


def run(runner, tmp_path, name: str, data: bytes, *args: str):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(args=["import-profiles", str(path), *args])


@pytest.mark.parametrize(
    ("delimiter", "encoding", "tags"),
    [
        (";", "cp1252", "OCR, DATEV | Belege"),  # German Excel: "CSV (Trennzeichen-getrennt)"
        (";", "utf-8-sig", "OCR|DATEV|Belege"),  # Excel "CSV UTF-8"
        (",", "utf-8", "OCR;DATEV;Belege"),
        (",", "cp1252", "OCR; DATEV; Belege"),
        ("\t", "utf-8-sig", "OCR;DATEV|Belege"),
    ],
)
def test_csv_delimiters_and_encodings(runner, tmp_path, delimiter, encoding, tags):
    data = csv_bytes([HEADER, SME, startup(tags)], delimiter, encoding)
    result = run(runner, tmp_path, "profile.csv", data)
    assert result.exit_code == 0, result.output
    assert "Importiert: 2 neu, 0 aktualisiert." in result.output
    found = profiles()
    assert found["k-1"].name == "Bäckerei Müller" and found["k-1"].city == "Görlitz"
    assert found["k-1"].employees == 12
    assert found["s-1"].name == "BelegKI Weißwasser"
    assert found["s-1"].tags == ["OCR", "DATEV", "Belege"]


def test_semicolon_file_with_two_categories(runner, tmp_path):
    row = startup("OCR", categories="bookkeeping, document_processing")
    result = run(runner, tmp_path, "p.csv", csv_bytes([HEADER, row], ";", "cp1252"))
    assert result.exit_code == 0, result.output
    codes = [c.code for c in profiles()["s-1"].categories]
    assert codes == ["bookkeeping", "document_processing"]


def test_xlsx_file(runner, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["sme", "k-1", "Bäckerei Müller", "Görlitz", 12, "", "", "Rechnungen.", None])
    sheet.append([None] * len(HEADER))  # empty rows in between are skipped
    sheet.append(startup("OCR;DATEV"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(runner, tmp_path, "profile.xlsx", buffer.getvalue())
    assert result.exit_code == 0, result.output
    found = profiles()
    assert found["k-1"].employees == 12 and found["k-1"].name == "Bäckerei Müller"
    assert found["s-1"].tags == ["OCR", "DATEV"]
    again = run(runner, tmp_path, "profile.xlsx", buffer.getvalue())
    assert "Importiert: 0 neu, 2 aktualisiert." in again.output


def test_xlsx_errors_name_the_spreadsheet_row(runner, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(SME)
    sheet.append(["sme", "k-2", "Ohne Text", "", "", "", "", "", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(runner, tmp_path, "profile.xlsx", buffer.getvalue())
    assert result.exit_code == 1
    assert "Zeile 3 (k-2): „needs“ fehlt." in result.output
    assert "1 fehlerhafte Zeile; nichts wurde importiert." in result.output


def test_unclosed_quote_is_an_error_at_its_line(runner, tmp_path):
    text = (
        "kind;id;name;needs\r\n"
        "sme;q-1;Erste GmbH;Belege prüfen\r\n"
        'sme;q-2;"Zweite GmbH;Rechnungen\r\n'
        "sme;q-3;Dritte GmbH;Wartung\r\n"
        "sme;q-4;Vierte GmbH;Chatbot\r\n"
    )
    result = run(runner, tmp_path, "p.csv", text.encode("cp1252"))
    assert result.exit_code == 1
    assert "Zeile 3 (?): Ein in dieser Zeile geöffnetes Anführungszeichen" in result.output
    assert "nichts wurde importiert" in result.output
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


def test_quote_closed_rows_later_is_an_error_too(runner, tmp_path):
    text = (
        "kind,id,name,needs\n"
        'sme,q-1,"Erste GmbH,Belege prüfen\n'
        "sme,q-2,Zweite GmbH,Rechnungen\n"
        'sme,q-3,Dritte GmbH,"Wartung"\n'
    )
    result = run(runner, tmp_path, "p.csv", text.encode())
    assert result.exit_code == 1
    assert "Zeile 2" in result.output and "Anführungszeichen" in result.output
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


def test_quoted_line_breaks_stay_allowed(runner, tmp_path):
    text = 'kind,id,name,needs\nsme,m-1,Mehrzeilig GmbH,"Erste Zeile\nzweite Zeile"\n'
    result = run(runner, tmp_path, "p.csv", text.encode())
    assert result.exit_code == 0, result.output
    assert profiles()["m-1"].description == "Erste Zeile\nzweite Zeile"


def test_more_cells_than_header_is_an_error(runner, tmp_path):
    text = "kind,id,name,needs\nsme,x-1,Firma,Text,überzählig\n"
    result = run(runner, tmp_path, "p.csv", text.encode())
    assert result.exit_code == 1
    assert "Zeile 2 (x-1): 5 Spalten statt 4" in result.output


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("p.csv", b"", "Die Datei ist leer."),
        ("p.csv", b"id,name\n\x81\x8d\n", "weder UTF-8- noch Windows-1252-Text"),
        ("p.xlsx", b"PK\x03\x04kaputt", "Die Excel-Datei kann nicht gelesen werden"),
        ("p.csv", b"name;Stadt\nX;Y\n", "Kopfzeile muss mindestens die Spalten id"),
    ],
)
def test_unreadable_files_in_german(runner, tmp_path, name, data, message):
    result = run(runner, tmp_path, name, data)
    assert result.exit_code == 1
    assert message in result.output


def test_summary_in_english_on_request(runner, tmp_path):
    data = csv_bytes([HEADER, SME], ";", "cp1252")
    result = run(runner, tmp_path, "p.csv", data, "--lang", "en", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: 1 new, 0 to update; all rows valid." in result.output
    bad = run(runner, tmp_path, "q.csv", b"kind,id,name,needs\nsme,x,,Text\n", "--lang", "en")
    assert "line 2 (x): “name” is missing." in bad.output
    assert "1 invalid row; nothing was imported." in bad.output


def test_exported_csv_imports_unchanged(runner, tmp_path, client, login, make_user, make_profile):
    make_profile(
        external_ref="e-1",
        name='=HYPERLINK("http://evil.example","klick")',
        contact_phone="+49 355 1234",
        tags=["-minus", "@at"],
    )
    login(make_user(organiser=True))
    exported = client.get("/directory/export.csv").data
    assert b"'+49 355 1234" in exported
    result = run(runner, tmp_path, "export.csv", exported)
    assert result.exit_code == 0, result.output
    assert "0 neu, 1 aktualisiert" in result.output
    profile = profiles()["e-1"]
    assert profile.name == '=HYPERLINK("http://evil.example","klick")'
    assert profile.contact_phone == "+49 355 1234"
    assert profile.tags == ["-minus", "@at"]
