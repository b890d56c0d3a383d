"""UTCDateTime's fast SQLite binding stores exactly the text SQLAlchemy's own binding would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy.types as types
from sqlalchemy.dialects import postgresql, sqlite

from telemetron.db.tables import UTCDateTime


class _General(UTCDateTime):
    """UTCDateTime through SQLAlchemy's general path: process_bind_param, then the dialect's type."""

    cache_ok = True

    def bind_processor(self, dialect):
        return types.TypeDecorator.bind_processor(self, dialect)


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 30, 17, 56, 13, 24948, tzinfo=UTC),
    datetime(2026, 1, 31, 9, 30, tzinfo=UTC),  # no microseconds: still written with six zeros
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 1, 31, 9, 30, 0, 5, tzinfo=timezone(timedelta(hours=-5))),  # converted to UTC
    datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=14))),  # the day before, in UTC
    datetime(2026, 1, 31, 9, 30),  # naive: taken as UTC, as before
    None,
])
def test_sqlite_binding_matches_sqlalchemys(value):
    dialect = sqlite.dialect()
    assert UTCDateTime()._cached_bind_processor(dialect)(value) == _General()._cached_bind_processor(dialect)(value)


def test_postgresql_binding_is_sqlalchemys():
    value = datetime(2026, 1, 31, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    bind = UTCDateTime()._cached_bind_processor(postgresql.dialect())
    assert (bind(value) if bind else UTCDateTime().process_bind_param(value, postgresql.dialect())) == value


def test_the_last_timestamp_remembered_never_answers_for_another():
    """The binding remembers its last timestamp (a unit binds one ``now`` many times): a value
    bound between two of another, equal or not, is written as itself."""
    dialect = sqlite.dialect()
    bind = UTCDateTime()._cached_bind_processor(dialect)
    general = _General()._cached_bind_processor(dialect)
    first = datetime(2026, 11, 30, 17, 56, 13, 24948, tzinfo=UTC)
    other = datetime(2026, 11, 30, 17, 56, 13, 24948, tzinfo=timezone(timedelta(hours=1)))  # equal to first, another text
    later = first + timedelta(microseconds=1)
    for value in (first, first, other, first, later, later, other, datetime(2026, 1, 31, 9, 30), first):
        assert bind(value) == general(value), value
