"""Profiles and solutions through the HTTP routes: create, edit, delete, validation."""

import pytest
from sqlalchemy import select

from matchmaker.directory.models import Profile, Solution
from matchmaker.extensions import db

SME_FORM = {
    "kind": "sme",
    "name": "Stadtwerke Musterstadt GmbH",
    "sector": "energy",
    "sector_detail": "Kommunaler Energieversorger",
    "city": "Spremberg",
    "region": "Spree-Neiße",
    "employees": "120",
    "website": "https://stadtwerke-musterstadt.example",
    "contact_name": "Petra Lehmann",
    "contact_role": "Leiterin Finanzen",
    "contact_email": "p.lehmann@stadtwerke-musterstadt.example",
    "contact_phone": "+49 3563 123456",
    "language": "de",
    "description": "Wir erfassen monatlich 2.000 Eingangsrechnungen von Hand und suchen KI.",
    "categories": ["bookkeeping", "document_processing"],
    "tags": "DATEV, Belegerfassung",
    "contact_visibility": "members",
    "consent": "y",
}


def test_create_sme_profile(client, make_user, login):
    user = make_user()
    login(user)
    response = client.post("/profiles/new", data=SME_FORM)
    assert response.status_code == 302
    profile = db.session.scalar(select(Profile).where(Profile.name == SME_FORM["name"]))
    assert profile.owner_id == user.id
    assert profile.kind == "sme"
    assert profile.sector.code == "energy"
    assert [c.code for c in profile.categories] == ["bookkeeping", "document_processing"]
    assert profile.tags == ["DATEV", "Belegerfassung"]
    assert profile.employees == 120
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stadtwerke Musterstadt GmbH" in page
    assert "Eingangsrechnungen" in page
    assert "p.lehmann@stadtwerke-musterstadt.example" in page


def test_create_requires_login(client):
    response = client.get("/profiles/new")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_invalid_input_is_kept_and_errors_shown_next_to_fields(client, make_user, login):
    login(make_user())
    bad = dict(SME_FORM, name="", employees="-3", website="kein-link", contact_email="x@")
    response = client.post("/profiles/new", data=bad)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="name-errors"' in page
    assert 'id="employees-errors"' in page
    assert 'id="website-errors"' in page
    assert 'id="contact_email-errors"' in page
    # input is kept
    assert "Eingangsrechnungen von Hand" in page
    assert 'value="Spremberg"' in page
    assert db.session.scalar(select(Profile)) is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("de", "Dieses Feld wird benötigt."), ("en", "This field is required.")],
)
def test_validation_messages_in_both_languages(client, make_user, login, lang, expected):
    login(make_user())
    client.post(f"/language/{lang}", data={"next": "/"})
    response = client.post("/profiles/new", data=dict(SME_FORM, name=""))
    assert expected in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("de-DE,de;q=0.9", "Verzeichnis"), ("en-GB,en;q=0.8", "Directory")],
)
def test_language_from_accept_language(client, header, expected):
    page = client.get("/directory", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in page


def test_german_is_the_default(client):
    page = client.get("/directory").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "<h1>Verzeichnis</h1>" in page


def test_edit_is_confirmed(client, make_user, make_profile, login):
    user = make_user()
    profile = make_profile(owner=user, name="Alte Firma")
    login(user)
    form = client.get(f"/profiles/{profile.id}/edit").get_data(as_text=True)
    assert 'value="Alte Firma"' in form
    data = dict(SME_FORM, name="Neue Firma")
    data.pop("kind")
    data.pop("consent")
    response = client.post(f"/profiles/{profile.id}/edit", data=data, follow_redirects=True)
    assert "Ihre Änderungen wurden gespeichert." in response.get_data(as_text=True)
    db.session.refresh(profile)
    assert profile.name == "Neue Firma"
    assert profile.kind == "sme"


def test_delete_asks_first(client, make_user, make_profile, login):
    user = make_user()
    profile = make_profile(owner=user, name="Wegfirma")
    login(user)
    confirm = client.get(f"/profiles/{profile.id}/delete")
    assert confirm.status_code == 200
    assert "Wirklich löschen?" in confirm.get_data(as_text=True)
    assert db.session.get(Profile, profile.id) is not None
    profile_id = profile.id
    response = client.post(f"/profiles/{profile_id}/delete")
    assert response.status_code == 302
    db.session.expunge_all()
    assert db.session.get(Profile, profile_id) is None


def test_startup_solutions_crud(client, make_user, make_profile, login):
    user = make_user()
    startup = make_profile(kind="startup", owner=user, name="BelegKI")
    login(user)
    response = client.post(
        f"/profiles/{startup.id}/solutions/new",
        data={
            "title": "Belegerfassung per Foto",
            "description": "Liest Eingangsrechnungen aus und bucht sie nach DATEV.",
            "categories": ["bookkeeping"],
            "maturity": "product",
            "references": "Steuerkanzleien, Handwerk",
            "pricing": "Abo ab 49 € pro Monat",
        },
    )
    assert response.status_code == 302
    solution = db.session.scalar(select(Solution))
    assert solution.title == "Belegerfassung per Foto"
    assert [c.code for c in solution.categories] == ["bookkeeping"]
    page = client.get(f"/profiles/{startup.id}").get_data(as_text=True)
    assert "Belegerfassung per Foto" in page and "Produkt im Einsatz" in page

    response = client.post(
        f"/solutions/{solution.id}/edit",
        data={
            "title": "Belegerfassung 2.0",
            "description": "Jetzt auch Quittungen.",
            "maturity": "pilot",
        },
    )
    assert response.status_code == 302
    db.session.refresh(solution)
    assert solution.title == "Belegerfassung 2.0" and solution.maturity == "pilot"

    solution_id = solution.id
    assert client.post(f"/solutions/{solution_id}/delete").status_code == 302
    db.session.expunge_all()
    assert db.session.get(Solution, solution_id) is None


def test_sme_profiles_have_no_solutions(client, make_user, make_profile, login):
    user = make_user()
    sme = make_profile(kind="sme", owner=user)
    login(user)
    assert client.get(f"/profiles/{sme.id}/solutions/new").status_code == 404


def test_contact_details_only_for_members(client, make_user, make_profile, login):
    profile = make_profile(contact_email="geheim@firma.example")
    assert "geheim@firma.example" not in client.get(f"/profiles/{profile.id}").get_data(
        as_text=True
    )
    login(make_user())
    assert "geheim@firma.example" in client.get(f"/profiles/{profile.id}").get_data(as_text=True)


def test_registration_and_login(client):
    response = client.post(
        "/account/register",
        data={
            "name": "Max Muster",
            "email": "Max@Example.de",
            "password": "sehr-geheim-123",
            "password_again": "sehr-geheim-123",
        },
    )
    assert response.status_code == 302
    client.post("/account/logout")
    bad = client.post("/account/login", data={"email": "max@example.de", "password": "falsch"})
    assert "E-Mail-Adresse oder Passwort ist falsch." in bad.get_data(as_text=True)
    good = client.post(
        "/account/login", data={"email": "max@example.de", "password": "sehr-geheim-123"}
    )
    assert good.status_code == 302


def test_duplicate_registration_refused(client, make_user):
    make_user(email="doppelt@example.de")
    response = client.post(
        "/account/register",
        data={
            "name": "X",
            "email": "DOPPELT@example.de",
            "password": "sehr-geheim-123",
            "password_again": "sehr-geheim-123",
        },
    )
    assert response.status_code == 200
    assert "existiert bereits" in response.get_data(as_text=True)


def test_login_redirect_stays_on_site(client, make_user):
    user = make_user()
    response = client.post(
        "/account/login?next=https://evil.example/",
        data={"email": user.email, "password": "geheimes-passwort"},
    )
    assert response.headers["Location"].startswith("/")


def test_profile_needs_consent(client, make_user, login):
    login(make_user())
    response = client.post(
        "/profiles/new", data={k: v for k, v in SME_FORM.items() if k != "consent"}
    )
    assert response.status_code == 200
    assert 'id="consent-errors"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Profile)) is None


def test_consent_time_is_stored(client, make_user, login):
    login(make_user())
    client.post("/profiles/new", data=SME_FORM)
    profile = db.session.scalar(select(Profile))
    assert profile.consent_at is not None


@pytest.mark.parametrize(
    ("visibility", "anonymous", "member", "organiser"),
    [
        ("public", True, True, True),
        ("members", False, True, True),
        ("organisers", False, False, True),
    ],
)
def test_contact_visibility(
    client, make_user, make_profile, login, visibility, anonymous, member, organiser
):
    owner = make_user()
    profile = make_profile(
        owner=owner, contact_email="kontakt@firma.example", contact_visibility=visibility
    )
    url = f"/profiles/{profile.id}"

    def visible() -> bool:
        return "kontakt@firma.example" in client.get(url).get_data(as_text=True)

    assert visible() is anonymous
    login(make_user())
    assert visible() is member
    client.post("/account/logout")
    login(make_user(organiser=True))
    assert visible() is organiser
    client.post("/account/logout")
    login(owner)
    assert visible() is True
