"""Flask extensions, created unbound and initialised in ``create_app``."""

import contextlib
import select
import sqlite3
import time

import psycopg
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraints get stable names for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def configure_sqlite(dbapi_connection, connection_record) -> None:
    """Turn on foreign keys and WAL for SQLite, so it behaves under several workers."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Keep the hot pages (search postings, profile rows) in memory per connection:
        # 32 MiB page cache instead of 2 MiB, and reads through a memory map.
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()


# A connection idle in the pool for longer than this is pinged before use, as every one was with
# pool_pre_ping: a firewall or NAT that dropped it silently answers only when it is used.
PING_AFTER_IDLE_SECONDS = 30.0
_CHECKED_IN_AT = "checked_in_at"


@event.listens_for(Pool, "checkin")
def note_checkin(dbapi_connection, connection_record) -> None:
    """Remember when a connection went back to the pool (see :func:`replace_closed_connection`)."""
    if connection_record is not None:
        connection_record.info[_CHECKED_IN_AT] = time.monotonic()


@event.listens_for(Pool, "checkout")
def replace_closed_connection(dbapi_connection, connection_record, connection_proxy) -> None:
    """Hand out no PostgreSQL connection the server has closed (a restart): the pool reconnects.

    Instead of a ``SELECT 1`` round trip per checkout (``pool_pre_ping``), which every request
    paid: a server that ends a connection says so and closes its end, so an idle connection
    whose socket has something to read, or is gone, is dead; one ``poll`` without waiting
    tells. Only a connection idle for longer than ``PING_AFTER_IDLE_SECONDS`` (which a network
    may have dropped without a word) is still pinged.
    """
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    checked_in = connection_record.info.get(_CHECKED_IN_AT)
    idle = checked_in is not None and time.monotonic() - checked_in > PING_AFTER_IDLE_SECONDS
    if server_closed(dbapi_connection) or (idle and not answers_ping(dbapi_connection)):
        raise DisconnectionError("The server closed the connection.")


def server_closed(connection: psycopg.Connection) -> bool:
    """Say whether the server ended an idle connection, without a round trip."""
    if connection.closed or connection.pgconn.status != psycopg.pq.ConnStatus.OK:
        return True
    try:
        poller = select.poll()
        poller.register(connection.pgconn.socket, select.POLLIN)
    except psycopg.OperationalError:  # no socket any more
        return True
    # An idle connection gets nothing unasked (no LISTEN here): anything to read is the
    # server's goodbye, or the end of the stream.
    return bool(poller.poll(0))


def answers_ping(connection: psycopg.Connection) -> bool:
    """Send ``SELECT 1`` outside a transaction (as pool_pre_ping does); say whether it worked."""
    autocommit = connection.autocommit
    try:
        connection.autocommit = True
        connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken connection is discarded anyway
            connection.autocommit = autocommit
    return True
