"""`flask translations check`: passes on our catalogues, fails on a missing, empty or fuzzy one."""

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from matchmaker.core.catalogues import TRANSLATIONS, extract_template


@pytest.fixture
def catalogue_copy(tmp_path) -> Path:
    """Copy the German and English catalogues to a temporary translations directory."""
    for language in ("de", "en"):
        target = tmp_path / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", target)
    return tmp_path


def edit_catalogue(directory: Path, language: str, change) -> None:
    """Read a catalogue, let ``change`` modify it, write it back."""
    path = directory / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    change(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def check(app_factory, directory: Path):
    app = app_factory(BABEL_TRANSLATION_DIRECTORIES=str(directory))
    return app.test_cli_runner().invoke(args=["translations", "check"])


def test_check_passes_on_the_catalogues(runner):
    result = runner.invoke(args=["translations", "check"])
    assert result.exit_code == 0, result.output
    assert "All catalogues complete." in result.output


def test_the_check_extracts_mail_templates_python_and_html():
    used = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in extract_template()}
    places = {path for message in used.values() for path, _line in message.locations}
    assert "Kind regards" in used  # templates/events/mail/*.txt
    assert any(path.endswith(".txt") for path in places)
    assert any(path.endswith(".html") for path in places)
    assert any(path.endswith(".py") for path in places)


def drop(msgid):
    return lambda catalog: catalog.delete(msgid)


def set_string(msgid, string):
    def change(catalog):
        catalog[msgid].string = string

    return change


def mark_fuzzy(msgid):
    return lambda catalog: catalog[msgid].flags.add("fuzzy")


@pytest.mark.parametrize(
    ("language", "change", "expected"),
    [
        # "Kind regards" is used by the mail templates only
        ("de", drop("Kind regards"), "de: missing 'Kind regards'"),
        ("en", set_string("Your organisation team", ""), "en: untranslated 'Your organisation"),
        ("de", mark_fuzzy("Registered by"), "de: fuzzy 'Registered by'"),
        (
            "de",
            set_string("%(num)d profile found", ("%(num)d Profil gefunden", "")),
            "de: untranslated '%(num)d profile found'",
        ),
        ("de", set_string("Registered: %(title)s", "Angemeldet"), "de: format 'Registered: "),
    ],
    ids=["missing", "untranslated", "fuzzy", "plural-form-empty", "placeholder-lost"],
)
def test_check_fails_on_a_bad_catalogue(app_factory, catalogue_copy, language, change, expected):
    edit_catalogue(catalogue_copy, language, change)
    result = check(app_factory, catalogue_copy)
    assert result.exit_code == 1
    assert expected in result.output
    assert "1 problem(s)" in result.output
