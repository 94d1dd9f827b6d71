"""Feedback after meetings, every signal the re-ranker learns from, and the organisers' counts.

A participant rates each meeting of the published schedule once its slot has begun: 1 to 5
stars and whether a follow-up was agreed; the rating can be changed later. This module sits
above events and matching, so it also gathers all feedback into labelled pairs for the
re-ranker (``all_signals``) and counts an event's feedback for its organisers
(``event_summary``).
"""

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Integer, cast, func, select

from matchmaker.core.clock import local_now
from matchmaker.directory.models import Profile
from matchmaker.events.models import (
    ACCEPTED,
    CANCELLED,
    DECLINED,
    MUST_MEET,
    NOT_INTERESTED,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.events.programme import slot_times
from matchmaker.extensions import db
from matchmaker.matching.feedback import Signal, suggestion_signals
from matchmaker.matching.models import FITS, NO_FIT, SuggestionMark
from matchmaker.scheduling import versions
from matchmaker.scheduling.models import MeetingRating, ScheduleMeeting

STARS = (1, 2, 3, 4, 5)
#: Ratings from this many stars on count as "fits" for the re-ranker, up to LOW_STARS as
#: "does not fit"; 3 stars say neither.
GOOD_STARS = 4
LOW_STARS = 2


class RatingError(Exception):
    """A rating that cannot be recorded; ``message`` says why, in the user's language."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def rateable_meeting(event: Event, key: str, profile: Profile) -> ScheduleMeeting:
    """Return the profile's meeting ``key`` of the published schedule, or refuse."""
    version = versions.published_version(event)
    meeting = None
    if version is not None:
        meeting = next((m for m in version.meetings if m.key == key), None)
    if meeting is None or not meeting.involves(profile.id):
        raise RatingError(_("This meeting is not on your published agenda."))
    return meeting


def has_started(event: Event, meeting: ScheduleMeeting) -> bool:
    """Tell whether the meeting's slot has begun (in the event's time zone)."""
    times = slot_times(event)
    if not 1 <= meeting.slot <= len(times):
        return False
    return times[meeting.slot - 1][0] <= local_now()


def rating_of(event: Event, key: str, profile: Profile) -> MeetingRating | None:
    """Return the profile's rating of one meeting, if given."""
    return db.session.scalar(
        select(MeetingRating).where(
            MeetingRating.event_id == event.id,
            MeetingRating.meeting_key == key,
            MeetingRating.rater_profile_id == profile.id,
        )
    )


def ratings_by_key(event: Event, profile: Profile) -> dict[str, MeetingRating]:
    """Return the profile's ratings at an event by meeting key."""
    rows = db.session.scalars(
        select(MeetingRating).where(
            MeetingRating.event_id == event.id, MeetingRating.rater_profile_id == profile.id
        )
    )
    return {r.meeting_key: r for r in rows}


def rate_meeting(
    event: Event, key: str, profile: Profile, stars: int | None, follow_up: bool
) -> MeetingRating:
    """Record or change the profile's rating of a meeting whose slot has begun."""
    meeting = rateable_meeting(event, key, profile)
    if not has_started(event, meeting):
        raise RatingError(_("You can rate this meeting once it has begun."))
    if stars not in STARS:
        raise RatingError(_("Please give 1 to 5 stars."), "stars")
    partner_id = (
        meeting.profile_b_id if profile.id == meeting.profile_a_id else meeting.profile_a_id
    )
    rating = rating_of(event, key, profile)
    if rating is None:
        rating = MeetingRating(event_id=event.id, meeting_key=key, rater_profile_id=profile.id)
        db.session.add(rating)
    rating.partner_profile_id = partner_id
    rating.stars = stars
    rating.follow_up = bool(follow_up)
    db.session.flush()
    return rating


def rating_signals() -> list[Signal]:
    """Return the meeting ratings as labelled pairs (a follow-up always counts as fitting)."""
    signals = []
    for rater, partner, stars, follow_up in db.session.execute(
        select(
            MeetingRating.rater_profile_id,
            MeetingRating.partner_profile_id,
            MeetingRating.stars,
            MeetingRating.follow_up,
        ).order_by(MeetingRating.updated_at, MeetingRating.id)
    ).tuples():
        if follow_up or stars >= GOOD_STARS:
            signals.append(Signal(rater, partner, 1, "rating"))
        elif stars <= LOW_STARS:
            signals.append(Signal(rater, partner, 0, "rating"))
    return signals


def all_signals() -> list[Signal]:
    """Gather every kind of feedback into labelled pairs (viewer -> candidate).

    Verdicts on suggestions; answered meeting requests (the answering side accepted: fits,
    declined: does not fit); "must meet" (fits) and "not interested" (does not fit) marks;
    meeting ratings (4-5 stars or a follow-up: fits, 1-2 stars: does not fit).
    """
    signals = suggestion_signals()
    for sender, receiver, status in db.session.execute(
        select(MeetingRequest.from_profile_id, MeetingRequest.to_profile_id, MeetingRequest.status)
        .where(MeetingRequest.status.in_((ACCEPTED, DECLINED)))
        .order_by(MeetingRequest.id)
    ).tuples():
        signals.append(Signal(receiver, sender, int(status == ACCEPTED), "request"))
    for viewer, other, kind in db.session.execute(
        select(ProfileMark.from_profile_id, ProfileMark.to_profile_id, ProfileMark.kind)
        .where(ProfileMark.kind.in_((MUST_MEET, NOT_INTERESTED)))
        .order_by(ProfileMark.id)
    ).tuples():
        signals.append(Signal(viewer, other, int(kind == MUST_MEET), "mark"))
    return signals + rating_signals()


@dataclass
class FeedbackSummary:
    """An event's feedback in numbers, for its organisers."""

    fits: int = 0
    no_fit: int = 0
    ratings: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(STARS, 0))
    mean: float | None = None
    follow_ups: int = 0
    requests_accepted: int = 0
    requests_declined: int = 0
    must_meet: int = 0
    not_interested: int = 0

    @property
    def empty(self) -> bool:
        """Tell whether there is no feedback at all yet."""
        return not (
            self.fits
            or self.no_fit
            or self.ratings
            or self.requests_accepted
            or self.requests_declined
            or self.must_meet
            or self.not_interested
        )


def event_summary(event: Event) -> FeedbackSummary:
    """Count an event's feedback: verdicts of its participants, ratings, requests and marks.

    Verdicts on suggestions belong to no event; an event counts those its registered
    (not cancelled) participants gave.
    """
    summary = FeedbackSummary()
    participants = (
        select(Registration.profile_id)
        .where(Registration.event_id == event.id, Registration.status != CANCELLED)
        .scalar_subquery()
    )
    verdicts = Counter(
        dict(
            db.session.execute(
                select(SuggestionMark.verdict, func.count())
                .where(SuggestionMark.viewer_profile_id.in_(participants))
                .group_by(SuggestionMark.verdict)
            )
            .tuples()
            .all()
        )
    )
    summary.fits, summary.no_fit = verdicts[FITS], verdicts[NO_FIT]
    for stars, count, follow_ups in db.session.execute(
        select(
            MeetingRating.stars,
            func.count(),
            func.sum(cast(MeetingRating.follow_up, Integer)),
        )
        .where(MeetingRating.event_id == event.id)
        .group_by(MeetingRating.stars)
    ).tuples():
        summary.distribution[stars] = count
        summary.ratings += count
        summary.follow_ups += int(follow_ups or 0)
    if summary.ratings:
        total = sum(stars * n for stars, n in summary.distribution.items())
        summary.mean = total / summary.ratings
    requests = Counter(
        dict(
            db.session.execute(
                select(MeetingRequest.status, func.count())
                .where(MeetingRequest.event_id == event.id)
                .group_by(MeetingRequest.status)
            )
            .tuples()
            .all()
        )
    )
    summary.requests_accepted, summary.requests_declined = requests[ACCEPTED], requests[DECLINED]
    marks = Counter(
        dict(
            db.session.execute(
                select(ProfileMark.kind, func.count())
                .where(ProfileMark.event_id == event.id)
                .group_by(ProfileMark.kind)
            )
            .tuples()
            .all()
        )
    )
    summary.must_meet, summary.not_interested = marks[MUST_MEET], marks[NOT_INTERESTED]
    return summary
