"""Directory search and filters: German inflection, compounds and concepts, relevance, bad input."""

import pytest

from matchmaker.directory import services
from matchmaker.directory.search import QueryGroup, query_groups
from matchmaker.extensions import db


@pytest.fixture
def directory(make_profile):
    make_profile(
        name="Stadtwerk Nord",
        description="Wir prüfen jeden Monat viele Eingangsrechnungen.",
        sector="energy",
        region="Niederlausitz",
        categories=["bookkeeping"],
        employees=300,
    )
    make_profile(
        name="Agentur Süd",
        description="Unsere Buchhaltungssoftware ist veraltet.",
        sector="creative_industry",
        region="Oberlausitz",
        employees=12,
    )
    make_profile(
        name="Forst Ost",
        description="Wir planen die Wartung unserer Harvester.",
        sector="agriculture_forestry",
        region="Oberlausitz",
        categories=["predictive_maintenance"],
    )
    make_profile(
        kind="startup",
        name="Rechnungsbot",
        description="Our AI reads invoices. Eine Rechnung pro Sekunde.",
        tags=["OCR"],
        categories=["document_processing"],
    )


def names(client, query: str) -> list[str]:
    response = client.get("/directory" + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = []
    for name in ("Stadtwerk Nord", "Agentur Süd", "Forst Ost", "Rechnungsbot"):
        if f">{name}</a>" in page:
            found.append(name)
    return found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=Rechnung", ["Rechnungsbot", "Stadtwerk Nord"]),  # Eingangsrechnungen, Rechnungsbot
        ("?q=Rechnungen", ["Rechnungsbot", "Stadtwerk Nord"]),
        # Buchhaltungssoftware; the use case "Buchhaltung und Finanzen"
        ("?q=Buchhaltung", ["Agentur Süd", "Stadtwerk Nord"]),
        ("?q=buchhaltung", ["Agentur Süd", "Stadtwerk Nord"]),
        ("?q=Wartungen", ["Forst Ost"]),
        ("?q=Prüfung", ["Stadtwerk Nord"]),  # "prüfen": the thesaurus's concept of checking
        ("?q=prüfe", ["Stadtwerk Nord"]),
        ("?q=OCR", ["Rechnungsbot"]),
        ("?q=invoice", ["Rechnungsbot", "Stadtwerk Nord"]),  # the concept of Eingangsrechnungen
        ("?q=Rechnung+Monat", ["Stadtwerk Nord"]),  # every word must match
        ("?q=Süd", ["Agentur Süd"]),
    ],
)
def test_search_understands_german(client, directory, query, expected):
    assert sorted(names(client, query)) == sorted(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?kind=startup", ["Rechnungsbot"]),
        ("?sector=energy", ["Stadtwerk Nord"]),
        ("?category=bookkeeping", ["Stadtwerk Nord"]),
        ("?category=document_processing", ["Rechnungsbot"]),
        ("?region=Oberlausitz", ["Agentur Süd", "Forst Ost"]),
        ("?region=Oberlausitz&q=Wartung", ["Forst Ost"]),
        ("?kind=sme&q=Rechnung", ["Stadtwerk Nord"]),
    ],
)
def test_filters(client, directory, query, expected):
    assert sorted(names(client, query)) == sorted(expected)


def order(client, query: str) -> list[str]:
    page = client.get("/directory" + query).get_data(as_text=True)
    return sorted(names(client, query), key=lambda name: page.index(f">{name}</a>"))


def test_sort_orders(client, directory):
    assert order(client, "?sort=name") == [
        "Agentur Süd",
        "Forst Ost",
        "Rechnungsbot",
        "Stadtwerk Nord",
    ]
    assert order(client, "?sort=size")[:2] == ["Stadtwerk Nord", "Agentur Süd"]
    assert order(client, "?sort=newest")[0] == "Rechnungsbot"


def test_pagination(client, app, make_profile):
    app.config["DIRECTORY_PAGE_SIZE"] = 2
    for i in range(5):
        make_profile(name=f"Firma {i:02d}")
    first = client.get("/directory").get_data(as_text=True)
    assert "Firma 00" in first and "Firma 02" not in first
    third = client.get("/directory?page=3").get_data(as_text=True)
    assert "Firma 04" in third
    assert 'rel="prev"' in third
    empty = client.get("/directory?page=9")
    assert empty.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=0",
        "?page=-1",
        "?sort=evil",
        "?kind=robot",
        "?sector=mars",
        "?category=nope",
        "?q=" + "x" * 201,
    ],
)
def test_bad_parameters_get_friendly_400(client, query):
    response = client.get("/directory" + query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Die Anfrage ist ungültig" in page
    assert "<html" in page


@pytest.mark.parametrize("query", ["?q=%25", "?q=_", "?q=%25rechnung%25", "?q=%5C"])
def test_search_treats_sql_wildcards_as_text(client, directory, query):
    # no word characters: the search has no terms and lists everything; with a word,
    # the wildcard characters are ignored, never passed to LIKE
    found = names(client, query)
    assert found in (
        ["Stadtwerk Nord", "Agentur Süd", "Forst Ost", "Rechnungsbot"],
        ["Stadtwerk Nord", "Rechnungsbot"],
    )


def test_query_groups_stem_fold_and_find_concepts():
    assert query_groups("Rechnungen") == (QueryGroup(("rechnung",), ("#invoice",)),)
    assert query_groups("Buchhaltung") == (QueryGroup(("buchhalt",), ("#bookkeeping",)),)
    # a thesaurus phrase is one group; stop words name no concept and are no search words
    assert query_groups("IT-Sicherheit der Bürger") == (
        QueryGroup(("it", "sicher"), ("#it_security",)),
        QueryGroup(("burg",), ("#citizen_service",)),
    )
    assert query_groups("Süd") == (QueryGroup(("sud",), ()),)
    assert query_groups("die und der") == ()


# -- concepts and relevance (issue 11, row 10) ----------------------------------------------

CONCEPT_PROFILES = {
    # name: (kind, description, categories)
    "Agentur Alpha": ("sme", "Wir möchten unsere Buchführung digitalisieren.", []),
    "Zahlenwerk Buchhaltung": ("sme", "Ein Steuerbüro mit zwölf Beschäftigten.", []),
    "Bäckerei Beck": ("sme", "Unsere Kreditorenbuchhaltung kostet viel Zeit.", []),
    "Maschinenbau Mitte": ("sme", "Wir wollen die vorausschauende Wartung unserer Pressen.", []),
    "Pumpenwerk Pohl": (
        "sme",
        "Ausfälle der Pumpen sollen früher erkannt werden.",
        ["predictive_maintenance"],  # its label: "Vorausschauende Wartung", "Predictive ..."
    ),
    "Sensorik Start": ("startup", "Predictive Maintenance für Pumpen und Motoren.", []),
    "Schutzschild": ("startup", "Cybersicherheit und Penetrationstests für KMU.", []),
    "Lernwerk": ("startup", "Wir trainieren KI für den Kundendienst.", []),
    "Gärtnerei Grün": ("sme", "Wir ziehen Stauden und Gehölze.", []),
}


@pytest.fixture
def concept_directory(make_profile):
    for name, (kind, description, categories) in CONCEPT_PROFILES.items():
        make_profile(kind=kind, name=name, description=description, categories=categories)


def listed(client, query: str, lang: str = "de") -> list[str]:
    """Return the concept directory's profiles a search lists, in the order shown."""
    response = client.get("/directory" + query, headers={"Accept-Language": lang})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    shown = [name for name in CONCEPT_PROFILES if f">{name}</a>" in page]
    return sorted(shown, key=lambda name: page.index(f">{name}</a>"))


BOOKKEEPING = ["Zahlenwerk Buchhaltung", "Agentur Alpha", "Bäckerei Beck"]
PREDICTIVE = ["Maschinenbau Mitte", "Pumpenwerk Pohl", "Sensorik Start"]


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # synonyms of the thesaurus, with and without umlaut; the name hit first
        ("?q=Buchführung", BOOKKEEPING),
        ("?q=Buchfuehrung", BOOKKEEPING),
        ("?q=Buchfuhrung", BOOKKEEPING),
        ("?q=Buchhaltung", ["Zahlenwerk Buchhaltung", "Bäckerei Beck", "Agentur Alpha"]),
        ("?q=bookkeeping", BOOKKEEPING),
        # the phrase, its English twin and the use-case label all name one concept
        ("?q=vorausschauende+Wartung", PREDICTIVE),
        # the use case's English label is as good as the words written
        ("?q=predictive+maintenance", ["Pumpenwerk Pohl", "Sensorik Start", "Maschinenbau Mitte"]),
        ("?q=Cybersecurity", ["Schutzschild"]),
        ("?q=IT-Sicherheit", ["Schutzschild"]),
        ("?q=künstliche+Intelligenz", ["Lernwerk"]),
        ("?q=artificial+intelligence", ["Lernwerk"]),
        # every group must match: the concept and the other word
        ("?q=predictive+maintenance+Pumpen", ["Pumpenwerk Pohl", "Sensorik Start"]),
        ("?q=Buchführung+Gärtnerei", []),
        ("?q=ecurity", []),  # a word part never matches the concept "#it_security"
    ],
)
def test_search_understands_the_concepts_of_matching(
    client, concept_directory, lang, query, expected
):
    assert listed(client, query, lang) == expected


def test_name_hits_rank_before_description_hits_whatever_the_sort(client, concept_directory):
    # by name, "Agentur Alpha" and "Bäckerei Beck" come first; the hit in the name wins
    for sort in ("name", "newest", "city", "size"):
        assert listed(client, f"?q=Buchhaltung&sort={sort}")[0] == "Zahlenwerk Buchhaltung"
    # among description hits the query's own word comes before a synonym, then the sort
    assert listed(client, "?q=Buchführung") == BOOKKEEPING
    assert listed(client, "?q=Kreditorenbuchhaltung") == [
        "Zahlenwerk Buchhaltung",  # the concept in the name
        "Bäckerei Beck",  # the word as written
        "Agentur Alpha",  # a synonym
    ]


def test_solution_titles_count_like_names(client, concept_directory, make_profile):
    startup = make_profile(kind="startup", name="Aaa Software", description="Wir bauen Apps.")
    solution = {"title": "Belegerfassung für die Buchführung", "description": "", "categories": []}
    services.save_solution(startup, solution)
    db.session.commit()
    page = client.get("/directory?q=Buchf%C3%BChrung").get_data(as_text=True)
    shown = sorted([*BOOKKEEPING, "Aaa Software"], key=lambda name: page.index(f">{name}</a>"))
    # the title has the word as written, the name only a synonym
    assert shown == ["Aaa Software", *BOOKKEEPING]


def test_search_follows_changes_and_the_api_ranks_alike(client, concept_directory, make_profile):
    assert listed(client, "?q=Cybersecurity") == ["Schutzschild"]
    garden = db.session.scalar(
        db.select(services.Profile).where(services.Profile.name == "Gärtnerei Grün")
    )
    services.update_profile(garden, {"description": "Wir brauchen Schutz vor Hackerangriffen."})
    db.session.commit()
    assert listed(client, "?q=Cybersecurity") == ["Gärtnerei Grün", "Schutzschild"]
    api = client.get("/api/v1/profiles?q=Buchf%C3%BChrung").get_json()
    assert [item["name"] for item in api["items"]] == BOOKKEEPING


def test_concepts_and_ranking_without_the_caches(app, client, concept_directory):
    # terms matched in SQL instead of against the worker's copy of the vocabulary
    app.config["DIRECTORY_CACHE"] = False
    assert listed(client, "?q=Buchführung") == BOOKKEEPING
    assert listed(client, "?q=vorausschauende+Wartung") == PREDICTIVE
    assert listed(client, "?q=Cybersecurity") == ["Schutzschild"]
    assert listed(client, "?q=predictive+maintenance+Pumpen") == [
        "Pumpenwerk Pohl",
        "Sensorik Start",
    ]
    assert listed(client, "?q=ecurity") == []  # a word part never matches "#it_security"
