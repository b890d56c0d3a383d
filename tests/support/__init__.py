"""Helpers shared by the test modules (fixtures stay in the conftest.py files).

- ``databases``: the PostgreSQL the tests use, and rows counted with plain SQL
- ``tenants``: a fresh organization with an API key and categories
- ``http``: what a client sends and sees (the ext-v1 specification's bodies and errors)
- ``cli``: what an operator sees of a ``telemetron`` command
- ``servers``: the real app on a real uvicorn in a thread, or ``telemetron serve`` as a process
- ``routing``: members, teams, rules and what a routed ticket stored
"""
