"""Every statement built at import time compiles with the values it is run with.

An UPDATE whose bound name equals a column name (``bindparam("token_hash")`` in a ``WHERE`` of an
UPDATE that also sets columns) compiles without its values and fails with them: only when it runs.
That shipped once (the web session's refresh, a minute into every session). Compiling each one
with its own bound names, as an execution does, finds such a statement at once.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Delete, Insert, Update

import telemetron

_SKIP = ("__main__", "trainer", "migrations")


def _statements():
    found = []
    for info in pkgutil.walk_packages(telemetron.__path__, "telemetron."):
        if any(part in info.name for part in _SKIP):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            statement = getattr(value, "stmt", value)  # db.prepared.Prepared holds its statement
            if isinstance(statement, (Update, Delete, Insert)):
                found.append(pytest.param(statement, id=f"{info.name}.{name}"))
    return found


@pytest.mark.parametrize("statement", _statements())
@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_compiles_with_its_bound_names(statement, dialect):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inserts compiled without their primary keys
        names = list(statement.compile(dialect=dialect).params)
        statement.compile(dialect=dialect, column_keys=names)
