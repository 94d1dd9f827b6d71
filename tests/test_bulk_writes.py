"""Writes in bulk for large events: an import's profiles and search index, rows of plain
values, a publication's e-mails. Each writes what the one-at-a-time path writes."""

import json
from types import SimpleNamespace

from fixtures_events import schedule_world  # noqa: F401 (fixture)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.core.bulk import insert_rows
from matchmaker.directory import importing
from matchmaker.directory.indexing import current_version, rebuild_index
from matchmaker.directory.models import Profile, ProfileWord, SearchWord, Solution
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling.models import ScheduleMeeting, ScheduleVersion

STARTUP = {
    "id": "st-1",
    "name": "BelegBlick",
    "offering": "Wir lesen Eingangsrechnungen automatisch aus.",
    "sector_code": "it_services",
    "categories": ["bookkeeping"],
    "tags": ["DATEV"],
    "solutions": [
        {
            "title": "Rechnungsleser",
            "description": "Erfasst Belege und prüft sie gegen Bestellungen.",
            "categories": ["document_processing", "bookkeeping"],
            "maturity": "pilot",
        },
        {"title": "Wartungsplaner", "description": "Vorausschauende Wartung für Anlagen."},
    ],
}
SME = {
    "id": "sme-1",
    "name": "Müller Metallbau",
    "needs": "Wir suchen Hilfe bei der Qualitätsprüfung.",
    "sector": "Metallbau",
    "categories": ["quality_inspection", "quality_inspection"],
}


def import_document(document: dict) -> importing.ImportReport:
    data = json.dumps(document, ensure_ascii=False).encode()
    report = importing.import_profiles(data, "profiles.json")
    assert report.ok, report.errors
    db.session.commit()
    return report


def postings() -> list[tuple[str, str, int]]:
    return sorted(
        db.session.execute(
            select(Profile.external_ref, SearchWord.word, ProfileWord.weight)
            .join(ProfileWord, ProfileWord.profile_id == Profile.id)
            .join(SearchWord, SearchWord.id == ProfileWord.word_id)
        ).all()
    )


def test_an_import_indexes_what_the_profiles_own_index_holds(app):
    version = current_version()
    import_document({"smes": [SME], "startups": [STARTUP]})
    assert current_version() == version + 1  # one bump for the whole file
    written = postings()
    assert ("st-1", "rechnungsleser", 2) in written  # a solution's title weighs as a title
    rebuild_index(db.session)  # the index from the stored profiles, solutions and labels
    db.session.commit()
    assert postings() == written
    startup = db.session.scalar(select(Profile).where(Profile.external_ref == "st-1"))
    assert [s.title for s in startup.solutions] == ["Rechnungsleser", "Wartungsplaner"]
    assert {c.code for c in startup.solutions[0].categories} == {
        "bookkeeping",
        "document_processing",
    }
    assert startup.solutions[1].maturity == "product" and startup.sector.code == "it_services"
    sme = db.session.scalar(select(Profile).where(Profile.external_ref == "sme-1"))
    assert [c.code for c in sme.categories] == ["quality_inspection"]
    assert sme.contact_visibility == "members" and sme.owner_id is None


def test_a_reimport_replaces_solutions_and_keeps_those_of_rows_without(app):
    import_document({"startups": [STARTUP]})
    changed = {**STARTUP, "solutions": [{"title": "Belegprüfer", "description": "Prüft Belege."}]}
    import_document({"startups": [changed]})
    db.session.expunge_all()
    titles = db.session.scalars(select(Solution.title).order_by(Solution.position)).all()
    assert titles == ["Belegprüfer"]
    words = {word for _ref, word, _weight in postings()}
    assert "belegprufer" in words or "belegprüfer" in words
    assert "wartungsplaner" not in words
    # a row without solutions (a CSV row) leaves them, and the index keeps their words
    without = {k: v for k, v in STARTUP.items() if k != "solutions"} | {"name": "BelegBlick 2"}
    report = import_document({"startups": [without]})
    assert (report.created, report.updated) == (0, 1)
    db.session.expunge_all()
    assert db.session.scalars(select(Solution.title)).all() == ["Belegprüfer"]
    before = postings()
    rebuild_index(db.session)
    db.session.commit()
    assert postings() == before


def test_insert_rows_writes_plain_and_json_values(schedule_world):  # noqa: F811
    a, b = (profile.id for profile in list(schedule_world.profiles.values())[:2])
    version = ScheduleVersion(event_id=schedule_world.event.id, number=1, problem={}, stats={})
    db.session.add(version)
    db.session.flush()
    reasons = ["Rechnungen ↔ Belege", 'mit "Anführungszeichen"', "{, }"]
    rows = [
        {
            "version_id": version.id,
            "key": f"{a}-{b}",
            "profile_a_id": a,
            "profile_b_id": b,
            "slot": slot,
            "table": 2,
            "score": 0.25,
            "origin": "match",
            "reasons": reasons[:slot],
            "locked": slot == 1,
        }
        for slot in (1, 3)
    ]
    rows[1]["key"] = f"{b}-{a}"
    insert_rows(db.session, ScheduleMeeting.__table__, rows)
    db.session.commit()
    stored = db.session.scalars(select(ScheduleMeeting).order_by(ScheduleMeeting.slot)).all()
    assert [(m.slot, m.table, m.score, m.locked) for m in stored] == [
        (1, 2, 0.25, True),
        (3, 2, 0.25, False),
    ]
    assert [m.reasons for m in stored] == [reasons[:1], reasons]


def test_queue_mails_renders_each_in_its_language_and_keeps_the_order(app):
    user = SimpleNamespace(name="Jörg")
    subject = _l("Reset your Matchmaker password")
    template = "accounts/mail/password_reset.txt"
    mails = [
        mail.Mail(f"p{n}@example.org", language, template, subject, "test", None, {"user": user})
        for n, language in enumerate(["de", "de", "en", "de", ""])
    ]
    mails[-1].to_address = ""  # nobody to write to: left out, as queue_mail does
    with app.test_request_context():
        ids = mail.queue_mails(mails)
        assert db.session.info[mail.SESSION_KEY] == ids
        db.session.commit()
    stored = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.id for m in stored] == ids
    assert [m.to_address for m in stored] == [f"p{n}@example.org" for n in range(4)]
    assert [m.body.startswith("Guten Tag Jörg") for m in stored] == [True, True, False, True]
    assert stored[2].body.startswith("Hello Jörg")
    assert all(m.status == "queued" and m.kind == "test" for m in stored)
