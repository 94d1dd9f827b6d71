"""The directory's per-worker caches: every worker sees every committed change at once."""

import re

import pytest
from sqlalchemy import insert, select, update

from matchmaker.directory import cache, indexing, services
from matchmaker.directory.models import Profile, SearchWord, Sector
from matchmaker.extensions import db

SEARCH = "/directory?q=Rechnung&kind=sme"


def listed(client, url: str = SEARCH) -> list[str]:
    """Return the profile names the directory lists for a URL."""
    response = client.get(url)
    assert response.status_code == 200
    return re.findall(r'<h2><a href="/profiles/\d+">([^<]*)</a></h2>', response.get_data(True))


def main_part(page: str) -> str:
    """Return the page's main content (the layout carries per-request CSRF tokens)."""
    return page[page.index("<main") : page.index("</main>")]


@pytest.fixture
def workers(app_factory, make_profile):
    """Two apps on one database, as two gunicorn workers (or hosts) are."""
    make_profile(name="Stadtwerk Nord", description="Viele Eingangsrechnungen.", region="Nord")
    return app_factory(), app_factory()


def test_every_change_shows_in_the_next_request_of_every_worker(workers):
    first, second = workers
    one, two = first.test_client(), second.test_client()
    assert listed(one) == ["Stadtwerk Nord"]
    assert listed(two) == ["Stadtwerk Nord"]
    assert ">Süd</option>" not in one.get("/directory").get_data(True)

    # created through the first worker, with a word the index has never seen
    with first.app_context():
        profile = services.create_profile(
            "sme",
            {
                "name": "Agentur Süd",
                "description": "Rechnungsprüfung mit Xylophonklang.",
                "region": "Süd",
            },
            owner=None,
        )
        db.session.commit()
        profile_id = profile.id
    for client in (two, one):
        assert listed(client) == ["Agentur Süd", "Stadtwerk Nord"]
        assert listed(client, "/directory?q=Xylophon") == ["Agentur Süd"]
        assert ">Süd</option>" in client.get("/directory").get_data(True)

    # edited through the second worker
    with second.app_context():
        profile = db.session.get(Profile, profile_id)
        services.update_profile(profile, {"name": "Agentur West", "description": "Werbung."})
        db.session.commit()
    for client in (one, two):
        assert listed(client) == ["Stadtwerk Nord"]
        assert listed(client, "/directory?q=Werbung") == ["Agentur West"]

    # deleted through the first worker
    with first.app_context():
        services.delete_profile(db.session.get(Profile, profile_id))
        db.session.commit()
    for client in (two, one):
        assert listed(client, "/directory?q=Werbung") == []
        assert ">Süd</option>" not in client.get("/directory").get_data(True)


def test_snapshot_is_reused_until_the_data_changes(app, client, make_profile):
    make_profile(name="Stadtwerk Nord", description="Eingangsrechnungen.")
    for _ in range(3):
        assert listed(client) == ["Stadtwerk Nord"]
    directory_cache = app.extensions["directory_cache"]
    assert directory_cache.builds == 1
    snapshot = cache.snapshot()
    assert len(snapshot.fragments) == 1 and len(snapshot.results) == 1
    make_profile(name="Stadtwerk Süd", description="Eingangsrechnungen.")
    assert listed(client) == ["Stadtwerk Nord", "Stadtwerk Süd"]
    assert directory_cache.builds == 2


def test_taxonomy_changes_are_seen_after_the_taxonomy_version_moves(app, client, make_profile):
    make_profile(name="Stadtwerk Nord", description="Eingangsrechnungen.", sector="energy")
    before = client.get("/directory").get_data(True)
    assert "Strom und Wärme" not in before
    # what a migration that changes the taxonomy does
    db.session.execute(
        update(Sector).where(Sector.code == "energy").values(label_de="Strom und Wärme")
    )
    indexing.bump_version(indexing.TAXONOMY_VERSION)
    db.session.commit()
    after = client.get("/directory").get_data(True)
    assert '<option value="energy">Strom und Wärme</option>' in after
    assert "Strom und Wärme · Cottbus" in after


def test_cached_fragment_does_not_leak_per_user_parts(client, login, make_user, make_profile):
    make_profile(name="Stadtwerk Nord", description="Eingangsrechnungen.")
    organiser = make_user(organiser=True)
    login(organiser)
    page = client.get(SEARCH).get_data(True)
    assert "/directory/export.csv" in page
    client.post("/account/logout")
    anonymous = client.application.test_client()
    page = anonymous.get(SEARCH).get_data(True)
    assert "/directory/export.csv" not in page
    assert "/account/logout" not in page
    assert "Stadtwerk Nord" in page


def test_language_is_part_of_the_key(client, make_profile):
    make_profile(name="Stadtwerk Nord", description="Eingangsrechnungen.", employees=12)
    german = client.get(SEARCH, headers={"Accept-Language": "de"}).get_data(True)
    english = client.get(SEARCH, headers={"Accept-Language": "en"}).get_data(True)
    assert "12 Beschäftigte" in german
    assert "12 employees" in english
    assert "All sectors" in english and "All sectors" not in german


@pytest.mark.parametrize(
    "url",
    [
        "/directory",
        SEARCH,
        "/directory?q=Rechnung+Monat",
        "/directory?q=KI&sort=size",
        "/directory?q=zzzz",
        "/directory?region=Nord&sort=newest",
        "/directory?category=bookkeeping",
        "/directory?page=2",
        "/directory?page=9",
    ],
)
def test_caches_off_gives_the_same_pages(app_factory, make_profile, url):
    for number in range(25):
        make_profile(
            name=f"Firma {number:02d}",
            description="Eingangsrechnungen jeden Monat, KI gesucht."
            if number % 2
            else "Wartung der Anlagen.",
            region="Nord" if number % 3 else "Süd",
            employees=number,
            categories=["bookkeeping"] if number % 4 == 0 else [],
        )
    cached = app_factory().test_client()
    uncached = app_factory(DIRECTORY_CACHE=False).test_client()
    first = main_part(cached.get(url).get_data(True))
    assert "<h1>" in first
    assert main_part(cached.get(url).get_data(True)) == first  # from the cache
    assert main_part(uncached.get(url).get_data(True)) == first


def test_broad_terms_matched_in_sql_next_to_literal_ones(app_factory, make_profile, monkeypatch):
    # A term matching more words than MAX_LITERAL_WORDS is matched in SQL while the query's
    # other terms go by their word ids: the pages stay those of the usual path.
    make_profile(name="Rechnungswerk", description="Eingangsrechnungen und Ausgangsrechnungen.")
    make_profile(name="Buchwerk", description="Rechnungen einmal im Monat, Buchhaltung.")
    make_profile(name="Wartungsdienst", description="Wartung der Anlagen jeden Monat.")
    make_profile(name="Rechenzentrum", description="Rechnungen prüfen.", employees=40)
    urls = [
        "/directory?q=Rechnung+Monat",
        "/directory?q=Rechnung&sort=size",
        "/directory?q=Buchhaltung+Rechnung",
        "/directory?q=Monat+zzzz",
    ]
    usual = app_factory().test_client()
    expected = {url: main_part(usual.get(url).get_data(True)) for url in urls}
    monkeypatch.setattr(cache, "MAX_LITERAL_WORDS", 1)
    mixed = app_factory()
    with mixed.test_request_context():
        snapshot = cache.snapshot()
        assert snapshot.word_ids("rechnung") is None  # four words: matched in SQL
        assert len(snapshot.word_ids("monat")) == 1
    client = mixed.test_client()
    for url in urls:
        assert main_part(client.get(url).get_data(True)) == expected[url]
    assert listed(client, urls[0]) == ["Buchwerk"]
    # the name first, then by size
    assert listed(client, urls[1]) == ["Rechnungswerk", "Rechenzentrum", "Buchwerk"]


def test_vocabulary_reads_words_committed_out_of_order(app):
    vocabulary = cache.Vocabulary()
    db.session.execute(insert(SearchWord), [{"id": 1000, "word": "anlagen"}])
    db.session.commit()
    assert vocabulary.refresh()["anlagen"] == 1000
    # a concurrent transaction committed a lower id after the refresh
    db.session.execute(insert(SearchWord), [{"id": 900, "word": "wartung"}])
    db.session.commit()
    words = vocabulary.refresh()
    assert words["wartung"] == 900
    assert cache.match_words(words, "wart") == (900,)
    assert cache.match_words(words, "ki") == ()
    assert db.session.scalar(select(SearchWord.id).where(SearchWord.word == "wartung")) == 900


def test_lru_keeps_the_most_recently_used():
    lru = cache.LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert lru.get("b") is None
    assert lru.get("a") == 1 and lru.get("c") == 3
    assert len(lru) == 2
