"""Helpers shared by the test modules (fixtures stay in the conftest.py files, which import what
they need from here; test modules never import a conftest).

- ``databases``: the PostgreSQL and Redis the tests use, and rows counted with plain SQL
- ``tenants``: a fresh organization with an API key and categories
- ``http``: what a client sends and sees (the ext-v1 specification's bodies and errors, a ticket
  created and read back)
- ``cli``: what an operator sees of a ``telemetron`` command
- ``servers``: the real app on a real uvicorn in a thread, or ``telemetron serve`` as a process
- ``receiver``: a real HTTP server standing in for Slack or a webhook endpoint
- ``notifications``: Slack and webhook destinations, an outbox worker in a thread, the outbox's rows
- ``threads``: an asyncio service of the product (outbox worker, IMAP poller) in a thread
- ``waiting``: polling for what another thread or process does
- ``web``: members who sign in, a browser-like HTTP client, a real browser's sign-in
- ``mail``: a mailbox per test and the real-world mails of tests/mail/mails/
- ``routing``: members, teams, rules and what a routed ticket stored
- ``triage``: the categorizer's hand-written data and an organization with AI categories
"""
