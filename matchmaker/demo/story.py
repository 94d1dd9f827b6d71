"""The demo beyond profiles and the booked-out event: the member's own profile and meeting
requests, and a published networking schedule, so "Meine Agenda" shows something.

Each step looks first and only adds what is missing, so ``flask demo`` can run again.
"""

from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.directory.models import Profile
from matchmaker.events import queries, wishes
from matchmaker.events.models import ACCEPTED, Event, Registration
from matchmaker.extensions import db
from matchmaker.matching.artefacts import ensure_model
from matchmaker.scheduling import building, publishing, versions


def profile_by_ref(ref: str) -> Profile:
    """Return the demo profile with this external reference."""
    profile = db.session.scalar(select(Profile).where(Profile.external_ref == ref))
    if profile is None:
        raise LookupError(f"demo profile {ref} is missing; import the demo profiles first")
    return profile


def give_member_profile(member: User, event: Event, spec: dict) -> Profile:
    """Make the member the owner of their demo profile and of its registration."""
    profile = profile_by_ref(spec["profile"])
    if profile.owner_id is None:
        profile.owner_id = member.id
    for registration in db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.profile_id == profile.id
        )
    ):
        if registration.created_by_id is None:
            registration.created_by_id = member.id
    db.session.flush()
    return profile


def agree_member_requests(event: Event, profile: Profile, spec: dict) -> int:
    """Send and accept the member's demo requests (one by them, one to them); count new ones."""
    pairs = [(profile, profile_by_ref(ref)) for ref in spec.get("requests_to", [])]
    pairs += [(profile_by_ref(ref), profile) for ref in spec.get("requests_from", [])]
    added = 0
    for sender, target in pairs:
        existing = queries.requests_between(event.id, sender.id, target.id)
        if any(r.status == ACCEPTED for r in existing):
            continue
        request = wishes.send_meeting_request(event, sender, target, spec.get("message", ""))
        wishes.answer_request(request, accept=True)
        added += 1
    return added


def publish_demo_schedule(event: Event, organiser: User | None) -> str:
    """Build and publish the event's schedule unless a version is published already."""
    published = versions.published_version(event)
    if published is not None:
        return f"Schedule version {published.number} is published already."
    ensure_model()  # the demo command may fit, as a job does
    version = building.build(event, organiser)
    publishing.publish(event, organiser)
    return f"Schedule version {version.number} published: {version.stats['summary']}"
