"""API tokens: created on /account/tokens and shown once, stored hashed, revoked, used as Bearer."""

import re
from datetime import timedelta

import pytest
from csrf_forms import log_in_with_csrf
from sqlalchemy import select

from matchmaker.api import services
from matchmaker.api.models import ApiToken
from matchmaker.extensions import db


@pytest.fixture
def member(make_user):
    return make_user(email="token-member@example.de")


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_token_page_needs_login(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_create_shows_the_token_once_and_stores_only_its_hash(client, login, member):
    login(member)
    response = client.post("/account/tokens", data={"name": "CRM-Abgleich"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = re.search(r"mmk_[A-Za-z0-9_-]{40,}", page).group(0)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == member.id))
    assert token.name == "CRM-Abgleich"
    assert token.token_hash == services.hash_token(secret) != secret
    assert secret.startswith(token.prefix) and len(token.prefix) == 12
    assert secret not in "".join(str(v) for v in vars(token).values())
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again
    assert token.prefix in again and "CRM-Abgleich" in again


def test_token_acts_as_its_member_until_revoked(client, login, member, make_profile):
    make_profile(external_ref="p-1", contact_email="kontakt@firma.de")
    token, secret = services.create_token(member, "Skript")
    db.session.commit()
    anonymous = client.get("/api/v1/profiles/p-1").get_json()
    assert anonymous["contact"] is None
    with_token = client.get("/api/v1/profiles/p-1", headers=bearer(secret)).get_json()
    assert with_token["contact"]["email"] == "kontakt@firma.de"

    login(member)
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302
    client.post("/account/logout")
    refused = client.get("/api/v1/profiles/p-1", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.is_json and refused.get_json()["status"] == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer mmk_unknown-token", "invalid_token"),
        ("Bearer ", "invalid_request"),
        ("Basic dXNlcjpwdw==", "invalid_request"),
        ("Bearer " + "x" * 500, "invalid_token"),
    ],
)
def test_bad_authorization_headers_answer_401(client, header, error):
    response = client.get("/api/v1/taxonomy", headers={"Authorization": header})
    assert response.status_code == 401
    body = response.get_json()
    assert set(body) == {"error", "message", "status"}
    assert f'error="{error}"' in response.headers["WWW-Authenticate"]


def test_a_bad_token_wins_over_a_session(client, login, member):
    login(member)
    response = client.get("/api/v1/taxonomy", headers=bearer("mmk_nope"))
    assert response.status_code == 401


def test_revoking_someone_elses_token_is_404(client, login, member, make_user):
    other = make_user()
    token, _secret = services.create_token(other, "fremd")
    db.session.commit()
    login(member)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    db.session.refresh(token)
    assert token.is_active


def test_last_used_is_recorded_at_most_once_a_minute(client, member):
    token, secret = services.create_token(member, "Zähler")
    db.session.commit()
    assert token.last_used_at is None
    client.get("/api/v1/taxonomy", headers=bearer(secret))
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/taxonomy", headers=bearer(secret))
    db.session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=5)
    db.session.commit()
    client.get("/api/v1/taxonomy", headers=bearer(secret))
    db.session.refresh(token)
    assert token.last_used_at.replace(tzinfo=None) > (first - timedelta(minutes=5)).replace(
        tzinfo=None
    )


def test_name_is_required_and_active_tokens_are_limited(client, login, member):
    login(member)
    assert client.post("/account/tokens", data={"name": ""}).status_code == 400
    for n in range(services.MAX_ACTIVE_TOKENS):
        services.create_token(member, f"t{n}")
    db.session.commit()
    response = client.post(
        "/account/tokens", data={"name": "einer zu viel"}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 409
    assert "revoke one first" in response.get_data(as_text=True)


def test_token_forms_need_csrf(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make_user()
        token, _secret = services.create_token(user, "alt")
        db.session.commit()
        token_id = token.id
        client = app.test_client()
        csrf = log_in_with_csrf(client, user.email)
        assert client.post("/account/tokens", data={"name": "x"}).status_code == 400
        assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400
        assert (
            client.post("/account/tokens", data={"name": "x", "csrf_token": csrf}).status_code
            == 200
        )


def test_nav_links_to_the_token_page(client, login, member):
    login(member)
    assert 'href="/account/tokens"' in client.get("/my/profiles").get_data(as_text=True)
