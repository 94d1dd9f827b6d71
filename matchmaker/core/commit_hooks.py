"""Work that follows a commit: a use case marks the session, a hook acts once it has committed.

Used for what must not happen before the data is committed, nor in a transaction that was rolled
back: asking for a matching refit, asking for the e-mails to be composed, waiting for the disk
after a hot transaction. A use case puts a value under its key in ``session.info``; after the
commit the key's action gets the value. A rollback of the whole transaction (not of a
savepoint) drops every value.
"""

from collections.abc import Callable

from sqlalchemy import event

from matchmaker.extensions import db

_ACTIONS: dict[str, Callable[[object, object], None]] = {}


def after_commit(key: str, action: Callable[[object, object], None]) -> None:
    """Call ``action(session, value)`` after a commit whose ``session.info[key]`` holds a value.

    Actions run in the order their keys were first registered; registering a key again replaces
    its action. The session listeners are added once per process.
    """
    _ACTIONS[key] = action
    if not event.contains(db.session, "after_commit", _run):
        event.listen(db.session, "after_commit", _run)
        event.listen(db.session, "after_soft_rollback", _forget)


def _run(session) -> None:
    for key, action in list(_ACTIONS.items()):
        value = session.info.pop(key, None)
        if value is not None:
            action(session, value)


def _forget(session, transaction) -> None:
    if not transaction.nested:  # a savepoint's rollback keeps what was marked before it
        for key in _ACTIONS:
            session.info.pop(key, None)


# Asked for by a transaction whose commit is not to wait for the disk (web.hot_transaction, on
# PostgreSQL): the first statement that can say so in passing (``set_config`` of
# ``synchronous_commit``, local to the transaction) takes the request with :func:`take_request`;
# otherwise the asker sends ``SET LOCAL`` before the commit.
NO_WAIT_FOR_DISK_KEY = "no_wait_for_disk"


def take_request(session, key: str) -> bool:
    """Say whether ``key`` was asked for in the session's transaction, and take it over."""
    return session.info.pop(key, None) is not None
