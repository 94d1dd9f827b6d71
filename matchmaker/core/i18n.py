"""Language selection (German first, English second) and template helpers."""

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """Pick the language: explicit choice, then the member's setting, then the browser."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def recipient_language(user) -> str:
    """Return the language to write to an account in: the one it chose, else German."""
    if user is not None and getattr(user, "locale", None) in current_app.config["LANGUAGES"]:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """Return the active language code ("de" or "en")."""
    locale = get_locale()
    return locale.language if locale else "de"


def register_template_helpers(app: Flask) -> None:
    """Make ``current_language`` and the label helper available in templates."""

    @app.context_processor
    def inject_language() -> dict:
        return {"current_language": current_language()}

    @app.template_filter("label")
    def label_filter(item) -> str:
        return item.label(current_language()) if item is not None else ""
