"""Language selection (German first, English second) and template helpers."""

from functools import cache

from babel import Locale
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_decimal, format_percent, get_locale
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


@cache
def parsed_locale(code: str) -> Locale:
    """Return the Babel locale of a language code, parsed once per process."""
    return Locale.parse(code)


def request_locale() -> Locale:
    """Flask-Babel's locale selector: :func:`select_locale`, as a locale parsed once per process
    (Flask-Babel parsed the code anew for every request)."""
    return parsed_locale(select_locale())


def recipient_language(user) -> str:
    """Return the language to write to an account in: the one it chose, else German."""
    return language_or_default(getattr(user, "locale", None) if user is not None else None)


def language_or_default(locale: str | None) -> str:
    """Return ``locale`` if the site speaks it, else the default language (German)."""
    if locale in current_app.config["LANGUAGES"]:
        return locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """Return the active language code ("de" or "en")."""
    locale = get_locale()
    return locale.language if locale else "de"


def format_number(value: float | None, digits: int = 2) -> str:
    """Format a number with a fixed count of decimals in the current language ("16,40")."""
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return format_decimal(value or 0.0, format=pattern)


def format_score(score: float | None, digits: int = 0) -> str:
    """Format a fraction (a match score 0..1, a gap) as a percentage in the current language.

    The one scale of scores that members and organisers see: "9 %" in German, "9%" in English.
    """
    if digits <= 0:
        return format_percent(score or 0.0)
    locale = get_locale()
    pattern = locale.percent_formats[None].pattern if locale else "#,##0 %"
    return format_percent(score or 0.0, format=pattern.replace("#,##0", "#,##0." + "0" * digits, 1))


def register_template_helpers(app: Flask) -> None:
    """Make ``current_language``, the label helper and the number formats available in templates."""

    @app.context_processor
    def inject_language() -> dict:
        return {"current_language": current_language()}

    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_score, "percent")

    @app.template_filter("label")
    def label_filter(item) -> str:
        return item.label(current_language()) if item is not None else ""
