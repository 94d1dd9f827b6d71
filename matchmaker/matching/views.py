"""Suggestions: explanation pages and the organisers' overview (the JSON API is in api/)."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from matchmaker.core.safe_csv import csv_document
from matchmaker.directory import taxonomy
from matchmaker.directory.models import Profile
from matchmaker.directory.queries import ResultPage
from matchmaker.extensions import db
from matchmaker.matching import feedback, overview, services, thresholds
from matchmaker.matching.forms import SuggestionVerdictForm
from matchmaker.matching.highlight import highlight
from matchmaker.web import (
    bad_request,
    flash_form_errors,
    organiser_required,
    page_number,
    refuse,
)

bp = Blueprint("matching", __name__)
# A profile page (directory) shows its suggestions without importing the matching area.
bp.add_app_template_global(services.suggestions_for, "suggestions_for")
bp.add_app_template_global(feedback.verdicts_of, "suggestion_verdicts")
bp.add_app_template_global(SuggestionVerdictForm, "SuggestionVerdictForm")
bp.add_app_template_global(services.suggestions_pending, "suggestions_pending")

OVERVIEW_PAGE_SIZE = 100  # pairs per page of the organisers' overview
CSV_REASONS_BATCH = 1_000  # pairs worded in one batch for the overview's CSV


def parse_threshold() -> float:
    """Read the ``threshold`` parameter (a percentage, like every score shown) as 0..1.

    Raise a friendly 400 when it is not a number from 0 to 100.
    """
    raw = request.args.get("threshold", "")
    if raw == "":
        return thresholds.overview_threshold()
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise bad_request(_("The minimum score must be a percentage from 0 to 100."))
    return value / 100


@bp.get("/matches/<int:profile_id>/<int:other_id>")
def explain(profile_id: int, other_id: int):
    """Show both texts of a suggested pair with the shared concepts highlighted."""
    profile = db.session.get(Profile, profile_id)
    other = db.session.get(Profile, other_id)
    if profile is None or other is None or profile.kind == other.kind:
        abort(404)
    explanation = services.explain(profile, other)
    if explanation is None:
        flash(_("Suggestions are being computed … please look again in a moment."), "info")
        return redirect(url_for("directory.detail", profile_id=profile.id))
    text_a = services.engine_profile(profile).text
    text_b = services.engine_profile(other).text
    return render_template(
        "matching/explain.html",
        profile=profile,
        other=other,
        explanation=explanation,
        text_a=highlight(text_a, explanation.spans_a),
        text_b=highlight(text_b, explanation.spans_b),
        shared_categories=taxonomy.categories_by_code(explanation.shared_categories),
    )


def overview_pairs():
    """Validate the overview's filters and return (pairs or None while prepared, filters)."""
    threshold = parse_threshold()
    sector = request.args.get("sector", "")
    if sector and taxonomy.sector_by_code(sector) is None:
        raise bad_request(_("Unknown sector."))
    category = request.args.get("category", "")
    if category and not taxonomy.categories_by_code([category]):
        raise bad_request(_("Unknown AI use case."))
    sort = request.args.get("sort", "score")
    if sort not in overview.SORTS:
        raise bad_request(_("Unknown sort order."))
    pairs = overview.pairs(threshold, sector=sector, category=category, sort=sort)
    # the filters as they appear in the form and in links: the threshold in per cent
    percent = f"{threshold * 100:g}"
    filters = {"threshold": percent, "sector": sector, "category": category, "sort": sort}
    return pairs, filters


@bp.get("/organiser/matches", endpoint="overview")
@organiser_required
def overview_page():
    """List every SME × startup pair above a threshold, a page at a time (organisers)."""
    page, per_page = page_number(request.args), OVERVIEW_PAGE_SIZE
    pairs, filters = overview_pairs()
    shown = pairs.rows((page - 1) * per_page, page * per_page) if pairs is not None else []
    return render_template(
        "matching/overview.html",
        rows=shown,
        preparing=pairs is None,
        pages=ResultPage(shown, len(pairs) if pairs is not None else 0, page, per_page),
        filters=filters,
        sectors=taxonomy.all_sectors(),
        categories=taxonomy.all_categories(),
    )


@bp.get("/organiser/matches.csv")
@organiser_required
def overview_csv():
    """Download the overview's pairs as CSV (organisers)."""
    pairs, filters = overview_pairs()
    if pairs is None:
        flash(_("The match overview is being prepared … please look again in a moment."), "info")
        return redirect(url_for("matching.overview", **filters))
    worded = (
        row
        for start in range(0, len(pairs), CSV_REASONS_BATCH)
        for row in pairs.rows(start, start + CSV_REASONS_BATCH)
    )
    document = csv_document(
        ["sme_ref", "sme", "startup_ref", "startup", "score", "reasons"],
        (
            [
                row.sme.ref,
                row.sme.name,
                row.startup.ref,
                row.startup.name,
                round(row.score, 4),
                "; ".join(row.reasons),
            ]
            for row in worded
        ),
    )
    return Response(
        document,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=matchmaker-matches.csv"},
    )


@bp.get("/organiser/unmatched")
@organiser_required
def unmatched():
    """Show who has no good match, so organisers can invite the right partners."""
    threshold = parse_threshold()
    return render_template(
        "matching/unmatched.html", items=services.unmatched(threshold), threshold=threshold
    )


@bp.post("/profiles/<int:profile_id>/suggestions/<int:other_id>/verdict")
@login_required
def verdict(profile_id: int, other_id: int):
    """Mark a suggestion "passt" / "passt nicht", or take the mark back (the profile's owner)."""
    profile = db.session.get(Profile, profile_id)
    other = db.session.get(Profile, other_id)
    if profile is None or other is None or profile.deleted_at is not None:
        abort(404)
    if profile.owner_id != current_user.id:
        abort(403)
    back = url_for("directory.detail", profile_id=profile.id) + "#suggestions-heading"
    form = SuggestionVerdictForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(back)
    try:
        now = feedback.toggle_verdict(profile, other, form.verdict.data)
    except feedback.FeedbackError as error:
        refuse(error)
        return redirect(back)
    db.session.commit()
    if now is None:
        flash(_("Your mark on %(name)s was taken back.", name=other.name), "info")
    elif now == "fits":
        flash(_("Noted: %(name)s fits.", name=other.name), "success")
    else:
        flash(_("Noted: %(name)s does not fit.", name=other.name), "success")
    return redirect(back)
