"""Account security: headers, cookies, login throttling and lockout, password reset by e-mail."""

import re

import pytest
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_security_header_the_view_set_itself_is_kept(app_factory):
    application = app_factory()

    @application.get("/own-policy")
    def own_policy():
        return "x", 200, {"content-security-policy": "default-src 'none'"}

    response = application.test_client().get("/own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_inline_scripts_or_styles_in_pages(client):
    for url in ("/", "/directory", "/account/login", "/account/register"):
        page = client.get(url).get_data(as_text=True)
        assert "<script" not in page
        assert " style=" not in page


def test_session_cookie_flags(app_factory, make_user):
    application = app_factory(SESSION_COOKIE_SECURE=True)
    with application.app_context():
        user = make_user()
        response = application.test_client().post(
            "/account/login", data={"email": user.email, "password": "geheimes-passwort"}
        )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_secure_cookies_by_default_in_production(monkeypatch, database_uri):
    from matchmaker.app import create_app

    monkeypatch.setenv("MATCHMAKER_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_uri})
    assert application.config["SESSION_COOKIE_SECURE"] is True


def test_account_locked_after_repeated_failures(client, make_user):
    user = make_user()
    for _attempt in range(5):
        response = client.post("/account/login", data={"email": user.email, "password": "falsch"})
        assert response.status_code == 200
    locked = client.post(
        "/account/login", data={"email": user.email, "password": "geheimes-passwort"}
    )
    assert locked.status_code == 429
    page = locked.get_data(as_text=True)
    assert "Zu viele Versuche" in page
    # the page says when to retry, in German, and matches the Retry-After header
    wait = int(locked.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    assert re.search(r"Bitte versuchen Sie es in \d+ (Minuten|Minute|Sekunden) erneut", page)
    assert re.search(r"\(ab \d{1,2}:\d{2}", page)
    # and shows the login form again, with the address that was tried
    assert 'name="password"' in page and f'value="{user.email}"' in page
    # another account from the same address is not locked by that
    other = make_user()
    ok = client.post("/account/login", data={"email": other.email, "password": "geheimes-passwort"})
    assert ok.status_code == 302


def test_venue_address_is_not_locked_by_one_guest(client, make_user):
    # one venue Wi-Fi: a dozen guests log in, one of them mistypes three times,
    # the rest of the hall keeps logging in
    guests = [make_user() for _guest in range(15)]
    for guest in guests[:8]:
        response = client.post(
            "/account/login", data={"email": guest.email, "password": "geheimes-passwort"}
        )
        assert response.status_code == 302
        client.post("/account/logout")
    for _typo in range(3):
        response = client.post(
            "/account/login", data={"email": guests[8].email, "password": "tippfehler"}
        )
        assert response.status_code == 200
    for guest in guests[8:]:
        response = client.post(
            "/account/login", data={"email": guest.email, "password": "geheimes-passwort"}
        )
        assert response.status_code == 302
        client.post("/account/logout")


def log_in(client, email, password="geheimes-passwort", address=None, forwarded=None):
    """Post the login form from a client address (or through a proxy); return the status."""
    options = {}
    if address:
        options["environ_base"] = {"REMOTE_ADDR": address}
    if forwarded:
        options["headers"] = {"X-Forwarded-For": forwarded}
    return client.post(
        "/account/login", data={"email": email, "password": password}, **options
    ).status_code


def test_lockout_per_account_and_address(client, make_user):
    user = make_user()
    for _attempt in range(5):
        log_in(client, user.email, "falsch", address="198.51.100.7")
    assert log_in(client, user.email, address="198.51.100.7") == 429
    # the owner at another address is not locked out by a guesser's address
    assert log_in(client, user.email, address="203.0.113.9") == 302


@pytest.mark.parametrize(
    ("settings", "guesses", "owner", "expected"),
    [
        # behind one trusted proxy the forwarded address counts, not the proxy's
        (
            {"TRUSTED_PROXIES": 1},
            [{"forwarded": "198.51.100.7"}] * 5,
            {"forwarded": "203.0.113.9"},
            302,
        ),
        # guesses from many addresses lock the account everywhere at the account limit
        (
            {"LOGIN_ACCOUNT_MAX_FAILURES": 5},
            [{"address": f"192.0.2.{n}"} for n in range(5)],
            {"address": "192.0.2.200"},
            429,
        ),
    ],
)
def test_lockout_by_address_and_account(app_factory, make_user, settings, guesses, owner, expected):
    application = app_factory(**settings)
    with application.app_context():
        user = make_user()
        client = application.test_client()
        statuses = [log_in(client, user.email, "falsch", **where) for where in guesses]
        assert statuses == [200] * 5
        assert log_in(client, user.email, **guesses[-1]) == 429
        assert log_in(client, user.email, **owner) == expected


def test_successful_logins_do_not_count_towards_lockout(client, make_user):
    user = make_user()
    for _attempt in range(6):
        response = client.post(
            "/account/login", data={"email": user.email, "password": "geheimes-passwort"}
        )
        assert response.status_code == 302
        client.post("/account/logout")


def test_login_rate_limited_per_address(app_factory, make_user):
    application = app_factory(LOGIN_RATE_LIMIT="3 per minute")
    with application.app_context():
        client = application.test_client()
        statuses = [
            client.post(
                "/account/login", data={"email": f"u{i}@example.de", "password": "x"}
            ).status_code
            for i in range(4)
        ]
        ceiling = client.post("/account/login", data={"email": "u9@example.de", "password": "x"})
        resets = [
            client.post("/account/password-reset", data={"email": "u9@example.de"})
            for _attempt in range(4)
        ]
    assert statuses == [200, 200, 200, 429]
    assert "Zu viele Versuche" in ceiling.get_data(as_text=True)
    assert 0 < int(ceiling.headers["Retry-After"]) <= 60
    # the reset form is shown again too
    assert [r.status_code for r in resets] == [302, 302, 302, 429]
    assert 'name="email"' in resets[-1].get_data(as_text=True)


def reset_link(to_address: str) -> str:
    message = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == to_address, OutboxMessage.kind == "password_reset")
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None
    return re.search(r"http://localhost(/account/password-reset/\S+)", message.body).group(1)


def test_password_reset_by_email(client, make_user):
    user = make_user(email="vergessen@example.de")
    response = client.post("/account/password-reset", data={"email": "VERGESSEN@example.de"})
    assert response.status_code == 302
    link = reset_link("vergessen@example.de")
    assert client.get(link).status_code == 200
    changed = client.post(
        link, data={"password": "ganz-neues-passwort", "password_again": "ganz-neues-passwort"}
    )
    assert changed.status_code == 302
    assert (
        client.post(
            "/account/login", data={"email": user.email, "password": "ganz-neues-passwort"}
        ).status_code
        == 302
    )
    # the link works once only
    client.post("/account/logout")
    reused = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "ungültig oder abgelaufen" in reused


def test_password_reset_does_not_reveal_accounts(client):
    response = client.post(
        "/account/password-reset", data={"email": "niemand@example.de"}, follow_redirects=True
    )
    assert "Falls ein Konto" in response.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage)) is None


@pytest.mark.parametrize("token", ["abc", "x" * 300, "eyJ1aWQiOjF9.bad.sig"])
def test_bad_reset_tokens(client, token):
    response = client.get(f"/account/password-reset/{token}")
    assert response.status_code == 302
    assert "/account/password-reset" in response.headers["Location"]


def test_lockout_is_shared_by_workers_through_redis(app_factory, make_user):
    # Two app instances stand for two gunicorn workers (or hosts) sharing Redis.
    import uuid

    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    first = app_factory(**settings)
    second = app_factory(**settings)
    with first.app_context():
        user = make_user()
        for _attempt in range(5):
            first.test_client().post("/account/login", data={"email": user.email, "password": "x"})
    with second.app_context():
        response = second.test_client().post(
            "/account/login", data={"email": user.email, "password": "geheimes-passwort"}
        )
    assert response.status_code == 429


def test_an_app_without_limits_leaves_the_next_app_throttled(app_factory, make_user):
    # The limiter is one object for every app of a process: an app made without limits (the
    # concurrency tests make one) must not switch them off for the apps made after it.
    app_factory(RATELIMIT_ENABLED=False)
    application = app_factory()
    with application.app_context():
        user = make_user()
        client = application.test_client()
        assert [log_in(client, user.email, "falsch") for _attempt in range(5)] == [200] * 5
        assert log_in(client, user.email) == 429
