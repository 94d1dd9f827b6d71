"""Compare the translation catalogues with the messages the code uses.

The messages are extracted as ``babel.cfg`` says (Python, HTML and mail templates) into a
template catalogue, the in-memory form of ``messages.pot``; each language's ``messages.po`` is
checked against it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
TRANSLATIONS = PACKAGE / "translations"
MAPPING = ROOT / "babel.cfg"
LANGUAGES = ("de", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


@dataclass(frozen=True)
class Problem:
    """One message that a catalogue does not translate properly."""

    language: str
    kind: str  # "missing" (not in the catalogue), "untranslated", "fuzzy", "format"
    msgid: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.language}: {self.kind} {self.msgid!r}"
        return f"{text} ({self.detail})" if self.detail else text


def extract_template() -> Catalog:
    """Extract every translatable message of the code and templates into a template catalogue."""
    with MAPPING.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog(project="Matchmaker", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def used_messages() -> set[str]:
    """Return every msgid (the singular of a plural) the code and templates ask to translate."""
    return {_key(message.id) for message in extract_template() if message.id}


def _key(msgid) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _catalogue_path(directory: Path, language: str) -> Path:
    return directory / language / "LC_MESSAGES" / "messages.po"


def catalogue_problems(
    directory: Path = TRANSLATIONS, languages=LANGUAGES, template: Catalog | None = None
) -> list[Problem]:
    """Return every used message a catalogue lacks, leaves empty, marks fuzzy or formats wrongly."""
    template = template if template is not None else extract_template()
    problems: list[Problem] = []
    for language in languages:
        path = _catalogue_path(Path(directory), language)
        if not path.exists():
            problems.append(Problem(language, "missing", "", f"no catalogue at {path}"))
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for wanted in template:
            if not wanted.id:
                continue
            found = catalog.get(wanted.id, context=wanted.context)
            problems.extend(_message_problems(language, wanted, found, catalog))
    return problems


def _message_problems(language: str, wanted, found, catalog: Catalog) -> list[Problem]:
    msgid = _key(wanted.id)
    if found is None:
        return [Problem(language, "missing", msgid)]
    if found.fuzzy:
        return [Problem(language, "fuzzy", msgid)]
    plural_wanted = isinstance(wanted.id, tuple)
    strings = found.string if isinstance(found.string, tuple) else (found.string,)
    if plural_wanted != isinstance(found.id, tuple) or not all(strings):
        return [Problem(language, "untranslated", msgid)]
    problems = [
        Problem(language, "format", msgid, str(error)) for error in found.check(catalog=catalog)
    ]
    ids = wanted.id if plural_wanted else (wanted.id,)
    offered = set().union(*(_placeholders(text) for text in ids))
    # a plural form may leave out the number ("ein Platz"), never another placeholder
    needed = _placeholders(ids[0]) - ({"num"} if plural_wanted else set())
    for text in strings:
        lost, unknown = needed - _placeholders(text), _placeholders(text) - offered
        if lost or unknown:
            detail = f"placeholders lost {sorted(lost)}, unknown {sorted(unknown)}: {text!r}"
            problems.append(Problem(language, "format", msgid, detail))
    return problems


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def missing_translations(directory: Path = TRANSLATIONS) -> dict[str, list[str]]:
    """Return, per language, the used messages without a proper translation."""
    missing: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    for problem in catalogue_problems(directory):
        missing[problem.language].append(problem.msgid)
    return {language: sorted(set(ids)) for language, ids in missing.items()}


def update_catalogues(languages=LANGUAGES, directory: Path = TRANSLATIONS) -> Path:
    """Extract the messages into messages.pot and merge them into each language's catalogue.

    English msgids are the source language, so the English catalogue is filled with
    the msgids themselves; every other language keeps its translations and lists new
    messages untranslated for a translator.
    """
    template = extract_template()
    directory.mkdir(exist_ok=True)
    pot_path = directory / "messages.pot"
    with pot_path.open("wb") as handle:
        write_po(handle, template, omit_header=True, no_location=True, sort_output=True)
    for lang in languages:
        po_path = _catalogue_path(directory, lang)
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
                if message.id and not all(strings):
                    message.string = message.id
        with po_path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, sort_output=True, width=100)
    return pot_path
