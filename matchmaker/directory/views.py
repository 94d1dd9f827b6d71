"""Directory pages: browse and search, profile details, create/edit/delete, CSV export."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from matchmaker.core.clock import utcnow
from matchmaker.core.i18n import current_language
from matchmaker.directory import cache as directory_cache
from matchmaker.directory import exporting, listing, queries, services, taxonomy
from matchmaker.directory.forms import ConfirmForm, ProfileForm, SolutionForm, parse_tags
from matchmaker.directory.models import KINDS, Profile, Solution
from matchmaker.extensions import db
from matchmaker.web import bad_request, organiser_required, page_number, refuse_conflict

bp = Blueprint("directory", __name__)
# The start page (core) shows the directory's figures without importing the directory.
bp.add_app_template_global(queries.count_profiles_by_kind, "directory_counts")

MAX_QUERY_LENGTH = 200


def parse_directory_query(
    sectors: list | None = None, categories: list | None = None
) -> tuple[queries.DirectoryQuery, int]:
    """Validate the directory's query parameters, or raise a friendly 400.

    ``sectors`` and ``categories``, when given, are the taxonomy lists the page loads
    anyway; the codes are then checked against them instead of querying again.
    """
    args = request.args
    q = args.get("q", "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise bad_request(_("The search text is too long (at most 200 characters)."))
    kind = args.get("kind", "")
    if kind and kind not in KINDS:
        raise bad_request(_("Unknown kind of profile."))
    sector = args.get("sector", "")
    if sector and not (
        any(s.code == sector for s in sectors)
        if sectors is not None
        else taxonomy.sector_by_code(sector)
    ):
        raise bad_request(_("Unknown sector."))
    category = args.get("category", "")
    if category and not (
        any(c.code == category for c in categories)
        if categories is not None
        else taxonomy.categories_by_code([category])
    ):
        raise bad_request(_("Unknown AI use case."))
    sort = args.get("sort", "name")
    if sort not in queries.SORTS:
        raise bad_request(_("Unknown sort order."))
    page = page_number(args)
    region = args.get("region", "").strip()[:120]
    query = queries.DirectoryQuery(
        q=q, kind=kind, sector=sector, category=category, region=region, sort=sort
    )
    return query, page


@bp.get("/directory")
def index():
    """Browse and search SMEs and startups.

    The results and filter form are rendered once per (language, query, page) and kept in
    the worker's directory snapshot, which is rebuilt whenever the profiles change (see
    ``directory.cache``); the layout around them (navigation, log-in state, CSRF tokens,
    organiser links) is rendered for every request. Nothing in the fragment depends on who
    is asking.
    """
    snapshot = directory_cache.snapshot()
    query, page = parse_directory_query(snapshot.sectors, snapshot.categories)
    per_page = current_app.config["DIRECTORY_PAGE_SIZE"]
    lang = current_language()

    def render() -> Markup:
        # Output of an autoescaping template: already escaped HTML.
        return Markup(render_results(snapshot, query, page, per_page, lang))  # noqa: S704

    fragment = snapshot.fragment((lang, query, page, per_page), render)
    return render_template("directory/index.html", results=fragment)


def render_results(snapshot, query: queries.DirectoryQuery, page: int, per_page: int, lang):
    """Render the filter form, the list and the page links for a query."""
    return render_template(
        "directory/_results.html",
        query=query,
        pagination=listing.result_page(snapshot, query, page, per_page, lang),
        sectors=snapshot.sectors,
        categories=snapshot.categories,
        regions=snapshot.regions,
        sorts=queries.SORTS,
        lang=lang,
    )


def get_profile_or_404(profile_id: int) -> Profile:
    """Return the profile or answer 404 (also for a deleted one)."""
    profile = db.get_or_404(Profile, profile_id)
    if profile.deleted_at is not None:
        abort(404)
    return profile


def get_editable_profile(profile_id: int) -> Profile:
    """Return a profile the current user may change, or answer 404/403."""
    profile = get_profile_or_404(profile_id)
    if not current_user.can_edit(profile):
        abort(403)
    return profile


@bp.get("/profiles/<int:profile_id>")
def detail(profile_id: int):
    """Show one profile with its solutions (and the matching area's suggestions)."""
    return render_template("directory/detail.html", profile=get_profile_or_404(profile_id))


@bp.get("/my/profiles")
@login_required
def my_profiles():
    """List the profiles the current member owns."""
    return render_template("directory/mine.html", profiles=queries.profiles_of(current_user))


def profile_form_data(form: ProfileForm) -> dict:
    """Turn a validated profile form into service data."""
    data = {
        field: getattr(form, field).data for field in services.PROFILE_FIELDS if field != "tags"
    }
    data["tags"] = parse_tags(form.tags.data)
    data["sector"] = form.sector.data or None
    data["categories"] = form.categories.data or []
    for field in ("name", "city", "region", "sector_detail", "contact_name", "contact_role"):
        data[field] = (data[field] or "").strip()
    return data


@bp.route("/profiles/new", methods=["GET", "POST"])
@login_required
def create():
    """Create an SME needs profile or a startup profile."""
    form = ProfileForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        data = profile_form_data(form)
        data["consent_at"] = utcnow()
        try:
            profile = services.create_profile(form.kind.data, data, current_user)
            db.session.commit()
        except IntegrityError:
            refuse_conflict(form)
            return render_template("directory/form.html", form=form, profile=None)
        flash(_("The profile has been created."), "success")
        if profile.kind == "startup":
            flash(_("Now describe your solutions, so SMEs find you."), "info")
        return redirect(url_for("directory.detail", profile_id=profile.id))
    return render_template("directory/form.html", form=form, profile=None)


@bp.route("/profiles/<int:profile_id>/edit", methods=["GET", "POST"])
@login_required
def edit(profile_id: int):
    """Change a profile (owner or organiser)."""
    profile = get_editable_profile(profile_id)
    form = ProfileForm(obj=profile)
    del form.kind
    del form.consent
    if request.method == "GET":
        form.sector.data = profile.sector.code if profile.sector else ""
        form.categories.data = [c.code for c in profile.categories]
        form.tags.data = ", ".join(profile.tags or [])
    if form.validate_on_submit():
        services.update_profile(profile, profile_form_data(form))
        db.session.commit()
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("directory.detail", profile_id=profile.id))
    return render_template("directory/form.html", form=form, profile=profile)


@bp.route("/profiles/<int:profile_id>/delete", methods=["GET", "POST"])
@login_required
def delete(profile_id: int):
    """Ask, then delete a profile (owner or organiser)."""
    profile = get_editable_profile(profile_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = profile.name
        services.delete_profile(profile)
        db.session.commit()
        flash(_("The profile “%(name)s” has been deleted.", name=name), "success")
        return redirect(url_for("directory.my_profiles"))
    return render_template(
        "directory/confirm_delete.html",
        form=form,
        what=profile.name,
        cancel_url=url_for("directory.detail", profile_id=profile.id),
    )


def solution_form_data(form: SolutionForm) -> dict:
    """Turn a validated solution form into service data."""
    data = {field: getattr(form, field).data for field in services.SOLUTION_FIELDS}
    data["title"] = data["title"].strip()
    data["categories"] = form.categories.data or []
    return data


@bp.route("/profiles/<int:profile_id>/solutions/new", methods=["GET", "POST"])
@login_required
def create_solution(profile_id: int):
    """Add a solution to a startup profile."""
    profile = get_editable_profile(profile_id)
    if profile.kind != "startup":
        abort(404)
    form = SolutionForm()
    if form.validate_on_submit():
        services.save_solution(profile, solution_form_data(form))
        db.session.commit()
        flash(_("The solution has been saved."), "success")
        return redirect(url_for("directory.detail", profile_id=profile.id))
    return render_template(
        "directory/solution_form.html", form=form, profile=profile, solution=None
    )


def get_editable_solution(solution_id: int) -> Solution:
    """Return a solution whose profile the current user may change."""
    solution = db.get_or_404(Solution, solution_id)
    if not current_user.can_edit(solution.profile):
        abort(403)
    return solution


@bp.route("/solutions/<int:solution_id>/edit", methods=["GET", "POST"])
@login_required
def edit_solution(solution_id: int):
    """Change a solution."""
    solution = get_editable_solution(solution_id)
    form = SolutionForm(obj=solution)
    if request.method == "GET":
        form.categories.data = [c.code for c in solution.categories]
    if form.validate_on_submit():
        services.save_solution(solution.profile, solution_form_data(form), solution)
        db.session.commit()
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("directory.detail", profile_id=solution.profile_id))
    return render_template(
        "directory/solution_form.html", form=form, profile=solution.profile, solution=solution
    )


@bp.route("/solutions/<int:solution_id>/delete", methods=["GET", "POST"])
@login_required
def delete_solution(solution_id: int):
    """Ask, then delete a solution."""
    solution = get_editable_solution(solution_id)
    profile_id = solution.profile_id
    form = ConfirmForm()
    if form.validate_on_submit():
        title = solution.title
        services.delete_solution(solution)
        db.session.commit()
        flash(_("The solution “%(name)s” has been deleted.", name=title), "success")
        return redirect(url_for("directory.detail", profile_id=profile_id))
    return render_template(
        "directory/confirm_delete.html",
        form=form,
        what=solution.title,
        cancel_url=url_for("directory.detail", profile_id=profile_id),
    )


@bp.get("/directory/export.csv")
@organiser_required
def export_csv():
    """Download every profile as CSV (organisers only)."""
    # the rows are read while the response streams, so the generator needs the request's
    # context (database session, locale) after the view has returned
    return Response(
        stream_with_context(exporting.profiles_csv()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=matchmaker-profiles.csv"},
    )
