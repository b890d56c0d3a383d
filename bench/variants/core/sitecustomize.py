"""createTicket's path without the features that add work to every ticket, for measuring only.

With this directory on PYTHONPATH (and ``BENCH_SCHEMA=features_off+number_off``), a server or an
in-process bench runs main's request path (pipeline, named steps, serializers) without the Prometheus
observations, the search document and the ticket number, so that what is left can be compared
with the tree before those features (bench/README.md, "createTicket's own path"). Tickets made
this way have no number and cannot be searched: never on a database anyone reads. One server
process only: it imports prometheus_client before ``serve --workers`` could share the metrics.
"""

import telemetron.observability.metrics as metrics
import telemetron.tickets.create as create
import telemetron.tickets.search as search


def _nothing(*_args, **_kwargs):
    return None


metrics.observe_request = _nothing
metrics.TICKETS_CREATED.inc = _nothing
search.index_new_ticket = _nothing  # SQLite: the document written before the COMMIT
search.with_document = lambda insert: insert  # PostgreSQL: the document in the ticket's INSERT
search.document_params = lambda _doc: {}
create.numbered = lambda insert, _dialect: insert
create.number_params = lambda _scoped: {}
