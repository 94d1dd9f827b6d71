"""Reading CSRF tokens from pages, for the test modules that run with CSRF protection on.

Import into a test module: ``from csrf_forms import csrf_token, log_in_with_csrf``.
"""

import re

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    return _TOKEN.search(page).group(1)


def log_in_with_csrf(client, email: str, password: str = "geheimes-passwort") -> str:
    """Log a client in through the login form; return the session's CSRF token."""
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    client.post("/account/login", data={"email": email, "password": password, "csrf_token": token})
    return token
