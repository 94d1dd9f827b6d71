"""The search index and the profiles version follow every path that writes profiles.

Import, the profile and solution forms, account deletion, the demo and a restore: after each,
the postings in the database are exactly the words of the profiles' current texts, and the
``profiles`` data version moved (so every worker's caches rebuild).
"""

import re
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, select

from matchmaker.core.backup import dump
from matchmaker.directory.indexing import PROFILES_VERSION, current_version, searchable_texts
from matchmaker.directory.models import Profile, ProfileWord, SearchWord
from matchmaker.directory.search import BODY, TITLE, index_terms
from matchmaker.extensions import db
from tests.conftest import clone_database
from tests.test_directory_profiles import SME_FORM

DATA = Path(__file__).resolve().parent / "data"


def stored_index() -> dict[int, dict[str, int]]:
    """Return the postings in the database: profile id -> words and concepts with weights."""
    found: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(ProfileWord.profile_id, SearchWord.word, ProfileWord.weight).join(
            SearchWord, SearchWord.id == ProfileWord.word_id
        )
    )
    for profile_id, word, weight in rows:
        found.setdefault(profile_id, {})[word] = weight
    return found


def expected_index() -> dict[int, dict[str, int]]:
    """Return the postings the profiles' current texts call for."""
    expected = {}
    for profile in db.session.scalars(select(Profile)):
        terms = index_terms(searchable_texts(profile))
        if terms:
            expected[profile.id] = terms
    return expected


def assert_index_current() -> None:
    db.session.expire_all()
    assert stored_index() == expected_index()


def test_import_and_reimport(runner, tmp_path):
    assert runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")]).exit_code == 0
    first = current_version(PROFILES_VERSION)
    assert first > 0
    assert_index_current()
    profile = db.session.scalar(select(Profile).order_by(Profile.id))
    profile.description = "Ganz neu: Zahnrad-Schmierung mit Quantenfluss."
    db.session.commit()  # a change behind the services' back, undone by the next import
    assert runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")]).exit_code == 0
    assert current_version(PROFILES_VERSION) > first
    assert_index_current()
    assert "quantenfluss" not in stored_index()[profile.id]


def test_profile_and_solution_forms(client, make_user, login):
    login(make_user())
    versions = [current_version(PROFILES_VERSION)]

    def changed(response) -> None:
        assert response.status_code == 302, response.get_data(as_text=True)
        versions.append(current_version(PROFILES_VERSION))
        assert versions[-1] > versions[-2]
        assert_index_current()

    changed(client.post("/profiles/new", data=dict(SME_FORM, kind="startup")))
    profile_id = db.session.scalar(select(Profile.id))
    edit = {k: v for k, v in SME_FORM.items() if k not in ("kind", "consent")}
    changed(client.post(f"/profiles/{profile_id}/edit", data=dict(edit, city="Weißwasser")))
    assert "weisswasser" in stored_index()[profile_id]
    solution = {
        "title": "Zählerablesung per Foto",
        "description": "Liest Zähler.",
        "maturity": "pilot",
    }
    changed(client.post(f"/profiles/{profile_id}/solutions/new", data=solution))
    assert stored_index()[profile_id]["zahlerablesung"] == TITLE  # a title weighs more
    assert stored_index()[profile_id]["zahler"] == BODY
    solution_id = db.session.get(Profile, profile_id).solutions[0].id
    changed(client.post(f"/solutions/{solution_id}/edit", data=dict(solution, title="Zählerfoto")))
    assert "zahlerablesung" not in stored_index()[profile_id]
    changed(client.post(f"/solutions/{solution_id}/delete"))
    assert "zahlerfoto" not in stored_index()[profile_id]
    changed(client.post(f"/profiles/{profile_id}/delete"))
    assert stored_index() == {}


def test_account_deletion(client, make_user, make_profile, login):
    owner = make_user(email="weg@example.de")
    kept = make_profile(name="Bleibt GmbH")
    make_profile(owner=owner, name="Geht GmbH", city="Hoyerswerda")
    before = current_version(PROFILES_VERSION)
    login(owner)
    form = {"password": "geheimes-passwort", "confirm": "y"}
    response = client.post("/account/delete", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert current_version(PROFILES_VERSION) > before
    assert_index_current()
    assert "hoyerswerda" not in set().union(*stored_index().values())
    assert "bleibt" in stored_index()[kept.id]


def test_demo(runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert current_version(PROFILES_VERSION) > 0
    assert_index_current()


def test_restore(runner, make_profile, tmp_path, app_factory, database_template):
    runner.invoke(args=["demo"])
    make_profile(name="Brauerei Görlitz", tags=["Qualität"])
    before = stored_index()
    backup = tmp_path / "backup.json.gz"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    uri, drop = clone_database(database_template, tmp_path)  # migrated, empty
    try:
        other = app_factory(SQLALCHEMY_DATABASE_URI=uri)
        with other.app_context():
            restored = other.test_cli_runner().invoke(args=["restore", str(backup)])
            assert restored.exit_code == 0, restored.output
            assert stored_index() == before
            assert_index_current()
            assert current_version(PROFILES_VERSION) > 0
            assert dump()["tables"]["profile_words"]
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


def test_upgrade_reindexes_existing_profiles(client, runner):
    # an installation from before concepts were indexed: plain words, no weights
    assert runner.invoke(args=["demo"]).exit_code == 0
    downgrade(revision="0020_jobs")
    db.session.remove()
    assert db.session.scalar(select(SearchWord.id).where(SearchWord.word.like("#%"))) is None
    before = current_version(PROFILES_VERSION)
    upgrade()
    db.session.remove()
    assert_index_current()
    assert current_version(PROFILES_VERSION) > before  # every worker's caches rebuild
    # no manual step: the directory finds profiles by concept right after the upgrade
    page = client.get("/directory?q=vorausschauende+Wartung").get_data(as_text=True)
    assert int(re.search(r"(\d+) Profile? gefunden", page).group(1)) > 0


def test_reindex_command_follows_the_thesaurus(runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    concepts = select(SearchWord.id).where(SearchWord.word.like("#%"))
    db.session.execute(delete(ProfileWord).where(ProfileWord.word_id.in_(concepts)))
    db.session.commit()
    before = current_version(PROFILES_VERSION)
    result = runner.invoke(args=["reindex-search"])
    assert result.exit_code == 0, result.output
    assert "Re-indexed" in result.output
    assert current_version(PROFILES_VERSION) > before
    assert_index_current()
