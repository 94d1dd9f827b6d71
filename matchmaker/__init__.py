"""Matchmaker: matchmaking for business networking events.

The package itself imports nothing, so the pure parts (``matchmaker.matching.engine``,
``matchmaker.scheduling.solver``) load without Flask or SQLAlchemy; the web application is
built by ``matchmaker.app.create_app``.
"""
