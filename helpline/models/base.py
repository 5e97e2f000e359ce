"""The declarative base, shared column types and time helpers for every model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

from helpline.privacy import crypto as privacy

# Stable constraint names keep Alembic migrations reviewable and reversible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A session, or Flask-SQLAlchemy's request-scoped proxy to one: services take either.
DbSession = Session | scoped_session[Any]


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def partial_index(name: str, *columns: str, where: str) -> sa.Index:
    """An index of the rows that match `where` (SQL), on PostgreSQL and SQLite alike."""
    return sa.Index(name, *columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database, SQLite included."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:  # SQLite keeps no offset; we only ever store UTC
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class EncryptedText(sa.TypeDecorator[str]):
    """Text stored as a Fernet token under the process keyring; plaintext never hits SQL."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else privacy.keyring().encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else privacy.keyring().decrypt(str(value))


def blind_indexed_columns() -> list[tuple[sa.Column[Any], sa.Column[Any]]]:
    """(blind index, encrypted value) column pairs, for re-indexing under a new key.

    A blind index column names the encrypted column it indexes in its `info`.
    """
    return [
        (column, table.columns[column.info["blind_index_of"]])
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if "blind_index_of" in column.info
    ]


def encrypted_columns() -> list[sa.Column[Any]]:
    """Every column of every table stored with EncryptedText, for key rotation."""
    return [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]
