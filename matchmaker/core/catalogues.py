"""Compare the translation catalogues with the messages the code uses."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
TRANSLATIONS = PACKAGE / "translations"
METHOD_MAP = [("matchmaker/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def used_messages() -> set[str]:
    """Return every msgid the code and templates ask to translate."""
    messages: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        messages.add(message[0] if isinstance(message, tuple) else message)
    return messages


def missing_translations() -> dict[str, list[str]]:
    """Return, per language, the used messages without a translation."""
    used = used_messages()
    missing: dict[str, list[str]] = {}
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        translated = set()
        for message in catalog:
            if not message.id:
                continue
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings) and not message.fuzzy:
                translated.add(msgid)
        missing[po_path.parent.parent.name] = sorted(used - translated)
    return missing


def update_catalogues(languages=("de", "en")) -> Path:
    """Extract the messages into messages.pot and merge them into each language's catalogue.

    English msgids are the source language, so the English catalogue is filled with
    the msgids themselves; every other language keeps its translations and lists new
    messages untranslated for a translator.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog(project="Matchmaker", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot_path = TRANSLATIONS / "messages.pot"
    TRANSLATIONS.mkdir(exist_ok=True)
    with pot_path.open("wb") as handle:
        write_po(handle, template, omit_header=True, no_location=True, sort_output=True)
    for lang in languages:
        po_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="Matchmaker", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False
        if lang == "en":
            for message in catalog:
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and not any(strings):
                    message.string = message.id
        with po_path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, sort_output=True, width=100)
    return pot_path
