"""Bulk import and export: bad rows with line numbers, re-import, dry run, round trip."""

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from statement_log import recorded_statements, starting

from matchmaker.directory.models import Profile
from matchmaker.extensions import db

DATA = Path(__file__).resolve().parent / "data"
DEMO = Path(__file__).resolve().parents[1] / "matchmaker" / "demo" / "lausitz.json"


def count(kind=None) -> int:
    stmt = select(func.count()).select_from(Profile)
    if kind:
        stmt = stmt.where(Profile.kind == kind)
    return db.session.scalar(stmt)


def write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_matching_dev_file_twice_updates(runner):
    source = DATA / "matching-dev.json"
    assert source.exists(), "tests/data/matching-dev.json must be present"
    result = runner.invoke(args=["import-profiles", str(source)])
    assert result.exit_code == 0, result.output
    assert "Importiert: 70 neu" in result.output
    assert count("sme") == 40 and count("startup") == 30
    again = runner.invoke(args=["import-profiles", str(source)])
    assert again.exit_code == 0
    assert "0 neu, 70 aktualisiert" in again.output
    assert count() == 70
    belegblick = db.session.scalar(select(Profile).where(Profile.external_ref == "dev-st-01"))
    assert belegblick.name == "BelegBlick"
    assert "DATEV" in belegblick.tags


def test_the_command_line_validates_every_row_once(runner):
    # validating reads which references exist, once per pass over the rows; the rows it
    # validated are the rows written
    with recorded_statements() as statements:
        result = runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    assert result.exit_code == 0, result.output
    assert "Importiert: 70 neu" in result.output and count() == 70
    assert len(starting(statements, "SELECT profiles.external_ref, profiles.kind")) == 1


def test_import_updates_changed_rows(runner, tmp_path):
    doc = {"smes": [{"id": "a-1", "name": "Alt", "needs": "Wir brauchen Hilfe bei Rechnungen."}]}
    runner.invoke(args=["import-profiles", write(tmp_path, "a.json", json.dumps(doc))])
    doc["smes"][0]["name"] = "Neu"
    result = runner.invoke(args=["import-profiles", write(tmp_path, "b.json", json.dumps(doc))])
    assert result.exit_code == 0
    db.session.expunge_all()
    assert [p.name for p in db.session.scalars(select(Profile))] == ["Neu"]


BAD_JSON = """{
  "smes": [
    {"id": "ok-1", "name": "Gute Firma", "needs": "Wir suchen eine KI für Rechnungen."},
    {"id": "bad-1", "name": "", "needs": "Text ohne Namen."},
    {"id": "bad-2", "name": "Firma", "needs": "Zu viele Leute.", "employees": -5},
    {"id": "ok-1", "name": "Doppelt", "needs": "Gleiche id noch einmal."}
  ],
  "startups": [
    {"id": "st 1", "name": "Leerzeichen", "offering": "Eine id mit Leerzeichen."},
    {"id": "st-2", "name": "Falsche Kategorie", "offering": "KI.", "categories": ["magic"]}
  ]
}
"""


def test_bad_rows_reported_with_lines_and_nothing_imported(runner, tmp_path):
    result = runner.invoke(args=["import-profiles", write(tmp_path, "bad.json", BAD_JSON)])
    assert result.exit_code == 1
    output = result.output
    assert "Zeile 4 (bad-1): „name“ fehlt." in output
    assert "Zeile 5 (bad-2): „employees“ muss eine ganze Zahl" in output
    assert "Zeile 6 (ok-1): Die id kommt doppelt vor (zuerst in Zeile 3)." in output
    assert "Zeile 9 (st 1)" in output
    assert "Zeile 10 (st-2): Unbekanntes KI-Anwendungsfeld: magic." in output
    assert "nichts wurde importiert" in output
    assert count() == 0


def test_dry_run_only_validates(runner):
    result = runner.invoke(args=["import-profiles", str(DEMO), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Probelauf: 38 neu" in result.output
    assert count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "kein gültiges JSON (Zeile 1"),
        ('{"people": []}', "braucht eine Liste „smes“"),
        ('{"smes": {}}', "„smes“ muss eine Liste sein."),
        ("name;city\nX;Y\n", "mindestens die Spalten id und name"),
    ],
)
def test_unreadable_files(runner, tmp_path, content, message):
    name = "f.csv" if "name;city" in content else "f.json"
    result = runner.invoke(args=["import-profiles", write(tmp_path, name, content)])
    assert result.exit_code == 1
    assert message in result.output


def test_csv_import_with_line_numbers(runner, tmp_path):
    text = (
        "kind,id,name,sector,city,employees,language,categories,tags,needs,offering\n"
        'sme,c-1,Tischlerei Krause,crafts,Guben,8,de,bookkeeping,,"Belege, Rechnungen, '
        'alles von Hand.",\n'
        "startup,c-2,BelegKI,,Cottbus,,de,bookkeeping;document_processing,OCR;DATEV,,"
        "Wir lesen Belege aus.\n"
        "sme,c-3,Ohne Text,,Forst,,de,,,,\n"
    )
    bad = runner.invoke(args=["import-profiles", write(tmp_path, "p.csv", text)])
    assert bad.exit_code == 1
    assert "Zeile 4 (c-3): „needs“ fehlt." in bad.output
    good = runner.invoke(
        args=["import-profiles", write(tmp_path, "q.csv", text.rsplit("sme,c-3", 1)[0])]
    )
    assert good.exit_code == 0, good.output
    startup = db.session.scalar(select(Profile).where(Profile.external_ref == "c-2"))
    assert startup.tags == ["OCR", "DATEV"]
    assert [c.code for c in startup.categories] == ["bookkeeping", "document_processing"]
    crafts = db.session.scalar(select(Profile).where(Profile.external_ref == "c-1"))
    assert crafts.sector.code == "crafts" and crafts.employees == 8


def test_free_text_sector_is_classified(runner):
    runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    solar = db.session.scalar(select(Profile).where(Profile.external_ref == "dev-sme-01"))
    assert solar.sector.code == "energy"
    assert solar.sector_detail == "Energy producer (photovoltaics)"


def test_export_round_trip(runner, tmp_path, app_factory):
    runner.invoke(args=["import-profiles", str(DEMO)])
    out = tmp_path / "export.json"
    result = runner.invoke(args=["export-profiles", "-o", str(out)])
    assert result.exit_code == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert len(exported["smes"]) == 24 and len(exported["startups"]) == 14
    first = exported["smes"][0]
    for key in ("id", "name", "sector", "city", "employees", "language", "needs"):
        assert key in first
    assert {"id", "name", "city", "language", "offering", "tags"} <= exported["startups"][0].keys()
    # importing the export changes nothing and exporting again gives the same document
    again = runner.invoke(args=["import-profiles", str(out)])
    assert "0 neu, 38 aktualisiert" in again.output
    second = runner.invoke(args=["export-profiles"])
    assert json.loads(second.output) == exported


def test_export_imports_into_an_emptied_directory(runner, tmp_path):
    from matchmaker.directory import services

    runner.invoke(args=["import-profiles", str(DEMO)])
    out = tmp_path / "export.json"
    runner.invoke(args=["export-profiles", "-o", str(out)])
    exported = json.loads(out.read_text(encoding="utf-8"))
    for profile in list(db.session.scalars(select(Profile))):
        services.delete_profile(profile)
    db.session.commit()
    assert count() == 0
    result = runner.invoke(args=["import-profiles", str(out)])
    assert "38 neu" in result.output
    assert json.loads(runner.invoke(args=["export-profiles"]).output) == exported


def test_csv_download_for_organisers(client, login, make_user, runner):
    runner.invoke(args=["import-profiles", str(DEMO)])
    login(make_user(organiser=True))
    response = client.get("/directory/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 38
    assert {r["kind"] for r in rows} == {"sme", "startup"}
    assert any("ä" in r["needs"] or "ü" in r["needs"] for r in rows)
