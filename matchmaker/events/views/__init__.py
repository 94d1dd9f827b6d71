"""Event pages: one blueprint, its views in one module per audience."""

from matchmaker.events.views import organisers, outbox, participants
from matchmaker.events.views.common import bp

__all__ = ["bp", "organisers", "outbox", "participants"]
