"""Events: registration with capacity and waiting list, availability, meeting wishes."""
