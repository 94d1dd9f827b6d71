"""Directory search and filters: German inflection and compounds, filters, sort, bad input."""

import pytest

from matchmaker.directory.search import query_terms


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
        ("?q=Buchhaltung", ["Agentur Süd"]),  # Buchhaltungssoftware
        ("?q=buchhaltung", ["Agentur Süd"]),
        ("?q=Wartungen", ["Forst Ost"]),
        ("?q=Prüfung", []),  # "prüfen" is not "Prüfung"
        ("?q=prüfe", ["Stadtwerk Nord"]),
        ("?q=OCR", ["Rechnungsbot"]),
        ("?q=invoice", ["Rechnungsbot"]),
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


def test_query_terms_stem_and_fold():
    assert query_terms("Rechnungen") == ["rechnung"]
    assert query_terms("Buchhaltung") == ["buchhalt"]
    assert query_terms("IT-Sicherheit der Bürger") == ["it", "sicher", "burg"]
