"""The directory list as the page shows it: one page of matches as plain, ready-made rows.

The ids and total of a query come from the worker's snapshot (``directory.cache``) when it has
seen the query since the profiles last changed; the rows carry every string the list shows,
built once here instead of in the template.
"""

from dataclasses import dataclass, replace

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from jinja2.filters import do_truncate

from matchmaker.directory import queries
from matchmaker.directory.cache import Snapshot
from matchmaker.directory.search import query_groups

EXCERPT_LENGTH = 220  # characters of the description, cut at a word boundary


@dataclass(frozen=True)
class ListedProfile:
    """One entry of the directory list, with its strings built once."""

    url: str
    name: str
    kind: str
    kind_label: str
    place: str  # "Sector · Town (Region) · 12 employees"
    excerpt: str


def matching_ids(
    snapshot: Snapshot, query: queries.DirectoryQuery, page: int, per_page: int
) -> tuple[list[int], int]:
    """Return one page of matching ids and the number of matches, from the snapshot if it can."""
    # The search text as the groups it becomes ("Rechnungen" and "rechnung" share results).
    key = (query_groups(query.q), replace(query, q=""), page, per_page)
    found = snapshot.results.get(key)
    if found is None:
        found = queries.directory_ids(query, page, per_page, snapshot.word_ids)
        snapshot.results.put(key, found)
    return found


def result_page(
    snapshot: Snapshot, query: queries.DirectoryQuery, page: int, per_page: int, lang: str
) -> queries.ResultPage:
    """Return one page of the directory list: rows ready to show, with the page links' data."""
    ids, total = matching_ids(snapshot, query, page, per_page)
    kind_labels = {"sme": _("SME"), "startup": _("Startup")}
    # One URL built, the others by changing the id (instead of a url_for per row).
    detail_prefix = url_for("directory.detail", profile_id=0)[:-1]
    env = current_app.jinja_env
    items = []
    for row in queries.directory_rows(ids):
        sector = snapshot.sectors_by_id.get(row.sector_id)
        place = row.city + (f" ({row.region})" if row.region else "")
        if sector is not None:
            place = f"{sector.label(lang)} · {place}"
        if row.employees:
            place += " · " + ngettext("%(num)d employee", "%(num)d employees", row.employees)
        items.append(
            ListedProfile(
                url=f"{detail_prefix}{row.id}",
                name=row.name,
                kind=row.kind,
                kind_label=kind_labels.get(row.kind, row.kind),
                place=place,
                excerpt=do_truncate(env, row.description, EXCERPT_LENGTH),
            )
        )
    return queries.ResultPage(items, total, page, per_page)
