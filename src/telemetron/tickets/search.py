"""Full-text search over tickets: title, description, every message and the customer's name and email.

The index holds one document per ticket with three fields (title, people, body), weighted in that
order for ranking:

- SQLite: an FTS5 table ``ticket_search`` whose rowid is the ticket's rowid (``unicode61``
  tokenizer, prefix indexes for 2 and 3 characters).
- PostgreSQL: a table ``ticket_search`` (ticket id, organization, ``tsvector`` weighted A/B/C) with
  a GIN index, using the ``simple`` configuration (no stemming, as FTS5), so that both databases
  find the same tickets.

It is written by the write path, in the caller's transaction: ``index_new_ticket`` when a ticket
is created, ``index_message`` for every message added (agents' internal notes included: every
searcher is an agent), ``reindex_customer`` when a customer's name or email changes. Nothing else
writes those texts.

What a user types never reaches MATCH or ``to_tsquery`` as syntax: it is cut into words (runs of
letters and digits, as both tokenizers cut text), and the query is rebuilt from those words alone,
each quoted. Words in any order must all match; a word of two characters or more also matches as a
prefix (``refu`` finds "refund"); ``"a quoted phrase"`` matches those words in that order; a word
with punctuation inside (``alice@example.com``, ``wi-fi``) is a phrase of its parts.

On SQLite the index is keyed by the tickets table's rowid, which ``VACUUM`` may renumber: after a
VACUUM, run ``rebuild(conn)`` (as migration 0014 does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Insert, Select, String, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from telemetron.db import deferred
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_filter
from telemetron.db.tables import tickets
from telemetron.tickets.serializers import SUMMARIES, SUMMARY_COLUMNS, with_ticket_joins

#: Words longer than this are not indexed (hashes, base64), nor searched for.
MAX_WORD = 40
MAX_TERMS = 16
#: How much text of a ticket's conversation is indexed (characters); a message adds at most
#: ``MAX_MESSAGE_TEXT``. PostgreSQL's tsvector is limited to 1 MB.
MAX_BODY_TEXT = 200_000
MAX_MESSAGE_TEXT = 50_000
_PG_MAX_LEXEMES = 6_000
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]
    prefix: bool  # the last word matches as a prefix


def words_of(value: str) -> list[str]:
    return [w for w in _WORD.findall(value.lower()) if len(w) <= MAX_WORD]


def parse(query: str) -> list[Term]:
    """The terms of what a user typed; [] when it holds no word to search for."""
    terms: list[Term] = []
    for i, segment in enumerate(query.split('"')):
        if i % 2:  # inside quotes (an unclosed quote runs to the end)
            words = words_of(segment)
            if words:
                terms.append(Term(tuple(words), prefix=False))
            continue
        for chunk in segment.split():
            words = words_of(chunk)
            if words:
                terms.append(Term(tuple(words), prefix=len(words[-1]) >= 2))
    return terms[:MAX_TERMS]


def fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: every word double-quoted (letters and digits only, so a quote
    cannot occur), terms joined by AND."""
    return " AND ".join('"' + " ".join(t.words) + '"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    """A ``to_tsquery('simple', ...)`` expression: every word single-quoted, phrases with ``<->``."""
    parts = []
    for t in terms:
        words = [f"'{w}'" for w in t.words]
        if t.prefix:
            words[-1] += ":*"
        parts.append(" <-> ".join(words) if len(words) > 1 else words[0])
    return " & ".join(parts)


def match_param(conn: Connection, terms: list[Term]) -> str:
    return fts5_query(terms) if conn.dialect.name == "sqlite" else tsquery(terms)


# --- the index: written in the caller's transaction --------------------------------------------------

# PostgreSQL: letters and digits only, words over MAX_WORD dropped, as ``words_of`` cuts a query.
_PG_CLEAN = f"regexp_replace(regexp_replace({{}}, '[[:alnum:]]{{{{{MAX_WORD + 1},}}}}', ' ', 'g'), '[^[:alnum:]]+', ' ', 'g')"


def _pg_vector(expr: str, weight: str) -> str:
    return f"setweight(to_tsvector('simple', {_PG_CLEAN.format(expr)}), '{weight}')"


_SQLITE_BODY = (
    "substr(t.description || ' ' || coalesce((SELECT group_concat(content, ' ') FROM (SELECT content "
    f"FROM ticket_messages m WHERE m.ticket_id = t.id ORDER BY m.position)), ''), 1, {MAX_BODY_TEXT})"
)
_PG_BODY = (
    "left(t.description || ' ' || coalesce((SELECT string_agg(m.content, ' ' ORDER BY m.position) "
    f"FROM ticket_messages m WHERE m.ticket_id = t.id), ''), {MAX_BODY_TEXT})"
)
_PEOPLE = "c.name || ' ' || c.email"
_SQLITE_INSERT = (
    "INSERT INTO ticket_search (rowid, title, people, body) "
    f"SELECT t.rowid, t.title, {_PEOPLE}, {_SQLITE_BODY} "
    "FROM tickets t JOIN customers c ON c.id = t.customer_id "
)
_PG_INSERT = (
    "INSERT INTO ticket_search (ticket_id, organization_id, document) "
    f"SELECT t.id, t.organization_id, {_pg_vector('t.title', 'A')} || "
    f"{_pg_vector(_PEOPLE, 'B')} || {_pg_vector(_PG_BODY, 'C')} "
    "FROM tickets t JOIN customers c ON c.id = t.customer_id "
)
_ONE = "WHERE t.id = :ticket_id AND t.organization_id = :org_id"
_INDEX_ONE = {
    "sqlite": text(_SQLITE_INSERT + _ONE),
    "postgresql": text(_PG_INSERT + _ONE + " ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document"),
}
_INDEX_NEW_SQLITE = Prepared(text(
    "INSERT INTO ticket_search (rowid, title, people, body) VALUES (:rowid, :title, :people, :body)"))
_SEARCH_TABLE = table("ticket_search", column("ticket_id"), column("organization_id"), column("document"))


def _weighted(param: str, weight: str):
    return func.setweight(func.to_tsvector(literal_column("'simple'"), bindparam(param, type_=String)),
                          literal_column(f"'{weight}'"))


_NEW_DOCUMENT = _weighted("doc_title", "A").op("||")(_weighted("doc_people", "B")).op("||")(_weighted("doc_body", "C"))
_UNINDEX_ONE = {
    "sqlite": text("DELETE FROM ticket_search WHERE rowid = "
                   "(SELECT rowid FROM tickets WHERE id = :ticket_id AND organization_id = :org_id)"),
    "postgresql": text("DELETE FROM ticket_search WHERE ticket_id = :ticket_id AND organization_id = :org_id"),
}
_ADD_MESSAGE = {
    "sqlite": text(
        f"UPDATE ticket_search SET body = body || ' ' || substr(:content, 1, {MAX_MESSAGE_TEXT}) "
        f"WHERE rowid = (SELECT rowid FROM tickets WHERE id = :ticket_id AND organization_id = :org_id) "
        f"AND length(body) < {MAX_BODY_TEXT}"
    ),
    "postgresql": text(
        f"UPDATE ticket_search SET document = document || {_pg_vector(f'left(:content, {MAX_MESSAGE_TEXT})', 'C')} "
        f"WHERE ticket_id = :ticket_id AND organization_id = :org_id AND length(document) < {_PG_MAX_LEXEMES}"
    ),
}
_CUSTOMER_TICKETS = text("SELECT id FROM tickets WHERE customer_id = :customer_id AND organization_id = :org_id")


class NewDocument(NamedTuple):
    """A ticket just written, as its search document: the texts are in hand, so nothing is read back."""
    title: str
    people: str  # the customer's name and email
    description: str
    messages: list[str]


def index_new_ticket(scoped: Scoped, rowid: int, doc: NewDocument) -> None:
    """SQLite: index a ticket just written (createTicket's hot path; ``rowid``, the tickets table's,
    is the index's key), in its transaction, just before it commits (``db/deferred.py`` says why).
    PostgreSQL writes it with the ticket (``with_document``)."""
    params = {"rowid": rowid, "title": doc.title, "people": doc.people, "body": _body(doc)}
    deferred.defer(scoped.conn, _INDEX_NEW_SQLITE, params)


def with_document(insert: Insert) -> Insert:
    """PostgreSQL: ``insert`` (a ticket's, its values bound) and the ticket's search document, in
    one statement: one round trip instead of two. Its parameters add ``document_params``."""
    new = insert.returning(tickets.c.id, tickets.c.organization_id).cte("new_ticket")
    return _SEARCH_TABLE.insert().from_select(
        ["ticket_id", "organization_id", "document"], select(new.c.id, new.c.organization_id, _NEW_DOCUMENT))


def document_params(doc: NewDocument) -> dict[str, str]:
    """The texts of ``with_document``'s document, cut into the words a query is cut into
    (``words_of``) here rather than by regular expressions in PostgreSQL, which cost it more than
    the rest of the document."""
    return {"doc_title": _clean(doc.title), "doc_people": _clean(doc.people), "doc_body": _clean(_body(doc))}


def _body(doc: NewDocument) -> str:
    return " ".join([doc.description, *doc.messages])[:MAX_BODY_TEXT]


def _clean(text: str) -> str:
    return " ".join(words_of(text))


def index_message(scoped: Scoped, ticket_id: str, content: str) -> None:
    """Add a new message's words to its ticket's document."""
    deferred.flush(scoped.conn)  # the document may still be held (a ticket created in this transaction)
    scoped.execute(_ADD_MESSAGE[scoped.conn.dialect.name], {"ticket_id": ticket_id, "content": content})


def reindex_customer(scoped: Scoped, customer_id: str) -> None:
    """Write again the documents of a customer's tickets (their name or email changed)."""
    deferred.flush(scoped.conn)
    dialect = scoped.conn.dialect.name
    for (ticket_id,) in scoped.execute(_CUSTOMER_TICKETS, {"customer_id": customer_id}).all():
        scoped.execute(_UNINDEX_ONE[dialect], {"ticket_id": ticket_id})
        scoped.execute(_INDEX_ONE[dialect], {"ticket_id": ticket_id})


def index_organization(conn: Connection, organization_id: str) -> None:
    """Index every ticket of one organization (an import: its tickets were written row by row)."""
    deferred.flush(conn)
    where = "WHERE t.organization_id = :org_id"
    if conn.dialect.name == "sqlite":
        conn.execute(text(_SQLITE_INSERT + where), {"org_id": organization_id})
    else:
        conn.execute(text(_PG_INSERT + where + " ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document"),
                     {"org_id": organization_id})


def rebuild(conn: Connection) -> None:
    """Index every ticket of every organization again (migration 0014; after a VACUUM on SQLite)."""
    deferred.discard(conn)  # what is held is rewritten below anyway
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM ticket_search")
        conn.exec_driver_sql(_SQLITE_INSERT)
        # One segment instead of hundreds: every search seeks each word once, not once a segment.
        conn.exec_driver_sql("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")
    else:
        conn.exec_driver_sql("TRUNCATE ticket_search")
        conn.exec_driver_sql(_PG_INSERT)


CREATE_INDEX = {
    "sqlite": [
        "CREATE VIRTUAL TABLE ticket_search USING fts5(title, people, body, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
        "CREATE VIRTUAL TABLE ticket_search_vocab USING fts5vocab(ticket_search, 'row')",
    ],
    "postgresql": [
        "CREATE TABLE ticket_search (ticket_id VARCHAR(36) PRIMARY KEY REFERENCES tickets (id), "
        "organization_id VARCHAR(32) NOT NULL, document TSVECTOR NOT NULL)",
        "CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)",
    ],
}


#: SQLite: the index's words, one row per occurrence, read one seek at a time (``words_starting``).
CREATE_TERMS = "CREATE VIRTUAL TABLE ticket_search_terms USING fts5vocab(ticket_search, 'instance')"


# --- reading ---------------------------------------------------------------------------------------

FEW_MATCHES, MANY_MATCHES, DENSE_MATCHES, BY_RANK = "few", "many", "dense", "rank"
FEW_BY_RANK = "rank-few"  # PostgreSQL: the matches are few, read them first
#: Up to this many matches, a search reads its matches and sorts them; past it, it walks its
#: order's index and checks each ticket (a page of a common word is found in the first few hundred).
FEW = 5_000
_fts_sqlite = table("ticket_search", column("rowid"))
_fts_pg = table("ticket_search", column("ticket_id"), column("document"))
_PG_QUERY = "to_tsquery('simple', :fts)"


class CrossJoin(Join):
    """A join SQLite must run left table first (``CROSS JOIN``): the search index drives, whatever
    the planner guesses without statistics. Other databases get a plain join."""

    inherit_cache = True


@compiles(CrossJoin, "sqlite")
def _cross_join(element, compiler, **kw):
    kw.pop("asfrom", None)
    left = compiler.process(element.left, asfrom=True, **kw)
    right = compiler.process(element.right, asfrom=True, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


def _pg_matches(*columns):
    # MATERIALIZED: read from the GIN index first, whatever the planner guesses of a prefix
    # (it cannot estimate one, and then walks every ticket in order looking for a rare word). Named
    # as the table, so the statements around it read ``ticket_search.document`` either way.
    return (
        select(*columns)
        .where(text(f"ticket_search.organization_id = :org_id AND ticket_search.document @@ {_PG_QUERY}"))
        .cte("ticket_search")
        .prefix_with("MATERIALIZED")
    )


# Ranking reads each match's document again; a list needs only the ids (documents are large).
_PG_MATCHES = {FEW_MATCHES: _pg_matches(_fts_pg.c.ticket_id),
               FEW_BY_RANK: _pg_matches(_fts_pg.c.ticket_id, _fts_pg.c.document)}


def _from_index(dialect: str, mode: str):
    if dialect == "sqlite":
        return CrossJoin(_fts_sqlite, tickets, literal_column("tickets.rowid") == _fts_sqlite.c.rowid)
    if mode in _PG_MATCHES:
        matches = _PG_MATCHES[mode]
        return matches.join(tickets, matches.c.ticket_id == tickets.c.id)
    return _fts_pg.join(tickets, _fts_pg.c.ticket_id == tickets.c.id)


def searched(dialect: str, mode: str) -> Select:
    """The summaries of matching tickets (``:fts`` from ``match_param``), before filters and order.

    ``FEW_MATCHES`` (and ``BY_RANK`` on SQLite) read the matches from the index; ``MANY_MATCHES``
    (and ``BY_RANK`` on PostgreSQL, over the newest ``WALK`` tickets) leave the order's index to
    drive and check membership per ticket.
    """
    if mode == DENSE_MATCHES:  # SQLite, exact words only: a check per ticket costs a seek per word
        return SUMMARIES.where(text("EXISTS (SELECT 1 FROM ticket_search WHERE ticket_search MATCH :fts "
                                    "AND ticket_search.rowid = tickets.rowid)"))
    if mode == MANY_MATCHES:
        if dialect == "sqlite":  # ``+``: not a rowid lookup, so the order's index drives
            member = text("+tickets.rowid IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH :fts)")
        else:
            member = text("EXISTS (SELECT 1 FROM ticket_search WHERE ticket_search.ticket_id = tickets.id "
                          f"AND ticket_search.document @@ {_PG_QUERY})")
        return SUMMARIES.where(member)
    stmt = select(*SUMMARY_COLUMNS).select_from(with_ticket_joins(_from_index(dialect, mode))).where(tenant_filter(tickets))
    if dialect == "sqlite":
        return stmt.where(text("ticket_search MATCH :fts"))
    if mode in _PG_MATCHES:
        return stmt  # matched in the CTE
    # ``ts_match_vq`` is the function behind ``@@``, which no index serves: the newest tickets
    # drive, whatever the planner guesses of the bound (unknown when it plans).
    return stmt.where(text(f"ts_match_vq(ticket_search.document, {_PG_QUERY})"), _NEWEST_WALKED)


#: PostgreSQL, relevance over more than ``FEW`` matches: the candidates are the matches among the
#: organization's newest this many tickets. Finding the newest matches checks tickets one by one
#: (a GIN index only gives all of them, unordered), and the newest ``RANKED`` matches of a word in
#: a small share of the tickets lie deep in the walk.
WALK = 5_000
_NEWEST_WALKED = text(
    "tickets.created_at >= coalesce((SELECT w.created_at FROM tickets AS w WHERE w.organization_id = :org_id "
    "ORDER BY w.created_at DESC LIMIT 1 OFFSET :walked), '-infinity')"
).bindparams(bindparam("walked", callable_=lambda: WALK - 1))


#: Relevance ranks the newest this many matches (a word in half the tickets would otherwise
#: score every one of them for each page): enough for what a person reads of a ranking.
RANKED = 2_000


def ranked(stmt: Select, dialect: str) -> Select:
    """``stmt`` (``searched(dialect, BY_RANK)`` with its filters) best first: a word in the title
    counts most, then one in the customer's name or email, then the rest. Pages by OFFSET."""
    score: Any
    newest: Any
    if dialect == "sqlite":
        score = literal_column("bm25(ticket_search, 10.0, 5.0, 1.0)")  # lower is better
        newest = literal_column("ticket_search.rowid").desc()
    else:
        query = func.to_tsquery(literal_column("'simple'"), bindparam("fts"))
        score = -func.ts_rank(literal_column("ticket_search.document"), query)
        newest = tickets.c.created_at.desc()
    candidates = stmt.add_columns(score.label("search_score")).order_by(newest).limit(RANKED).subquery()
    shown = [c for c in candidates.c if c.key != "search_score"]
    return select(*shown).order_by(candidates.c.search_score, candidates.c.id)


# PostgreSQL's own estimate of the matches, from the lexeme frequencies ANALYZE keeps for the
# column (it knows the common words; a word it does not know is rare): planning costs well under
# a millisecond, where counting the matches builds a bitmap of every one of them.
_ESTIMATE = text(
    f"EXPLAIN (FORMAT JSON) SELECT 1 FROM ticket_search WHERE organization_id = :org_id AND document @@ {_PG_QUERY}"
)


def estimated_matches(scoped: Scoped, fts: str) -> float:
    """PostgreSQL: how many tickets of the organization the planner expects ``fts`` to match."""
    plan = scoped.execute(_ESTIMATE, {"fts": fts}).scalar_one()
    return float((orjson.loads(plan) if isinstance(plan, str | bytes) else plan)[0]["Plan"]["Plan Rows"])


#: Past this many matches (of any organization), SQLite checks each ticket of the walk instead of
#: listing the matches first (listing 600,000 matches costs ~0.3 s, checking 50 tickets ~1 ms).
DENSE = 50_000
_MAX_EXPANSION = 8
_COUNT_ANY = text("SELECT count(*) FROM (SELECT 1 FROM ticket_search WHERE ticket_search MATCH :fts LIMIT :dense)")
# One seek into the index's words (an ``instance`` fts5vocab table stops at the first row; a
# ``row`` one counts every document of a word before it answers).
_NEXT_WORD = text("SELECT term FROM ticket_search_terms WHERE term >= :lo AND term < :hi LIMIT 1")


def plan_ranked(scoped: Scoped, terms: list[Term]) -> tuple[str, str]:
    """``plan`` for relevance: on PostgreSQL, few matches are read from the index first."""
    if scoped.conn.dialect.name == "sqlite":
        return BY_RANK, exact_words(scoped, terms) or fts5_query(terms)
    fts = tsquery(terms)
    return (FEW_BY_RANK if estimated_matches(scoped, fts) <= FEW else BY_RANK), fts


def plan(scoped: Scoped, terms: list[Term]) -> tuple[str, str]:
    """(mode for ``searched``, the ``:fts`` value for it): read the few matches, list the many, or
    check each ticket against the very many (SQLite, when the words are exact or their prefixes
    stand for a few words; a check for a prefix would expand it again for every ticket).

    On SQLite a prefix that stands for a few words is searched as those words (FTS5 merges every
    document of every word of a prefix before it returns the first), and the matches are counted
    in the index alone (every organization's: looking each up to count only this one's costs more
    than the search), up to ``DENSE``."""
    if scoped.conn.dialect.name != "sqlite":
        fts = tsquery(terms)
        return (FEW_MATCHES if estimated_matches(scoped, fts) <= FEW else MANY_MATCHES), fts
    exact = exact_words(scoped, terms)
    fts = exact or fts5_query(terms)
    found = scoped.execute(_COUNT_ANY, {"fts": fts, "dense": DENSE + 1}).scalar_one()
    if found <= FEW:
        return FEW_MATCHES, fts
    return (DENSE_MATCHES if exact and found > DENSE else MANY_MATCHES), fts


def exact_words(scoped: Scoped, terms: list[Term]) -> str | None:
    """SQLite: ``terms`` as an FTS5 query of exact words (a prefix as the OR of the indexed words
    it starts), or None when a prefix stands for more than a few words or for none of the index's
    (the index folds diacritics that a query keeps: FTS5 then folds them itself)."""
    parts = []
    for term in terms:
        if not term.prefix:
            parts.append('"' + " ".join(term.words) + '"')
            continue
        found = words_starting(scoped, term.words[-1])
        if not found:
            return None
        # Indexed words hold letters and digits only: quoting them is enough.
        head = "".join(w + " " for w in term.words[:-1])
        parts.append("(" + " OR ".join(f'"{head}{w}"' for w in found) + ")")
    return " AND ".join(parts)


def words_starting(scoped: Scoped, prefix: str) -> list[str]:
    """The index's words that start with ``prefix``, one seek each; [] past ``_MAX_EXPANSION``."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    found: list[str] = []
    lower = prefix
    while len(found) <= _MAX_EXPANSION:
        word = scoped.execute(_NEXT_WORD, {"lo": lower, "hi": upper}).scalar()
        if word is None:
            return found
        found.append(word)
        lower = word + "\x01"  # the next word: none holds a control character
    return []


def custom_plans(scoped: Scoped) -> None:
    """PostgreSQL: plan this transaction's statements for their values, without parallel workers.
    A prepared statement's generic plan cannot know that a word is rare or a category empty, and
    reads every ticket."""
    if scoped.conn.dialect.name == "postgresql":
        # One statement: a round trip each. No parallel workers either: a page is a walk that
        # stops early, and starting workers costs more than the walk, the more so on busy cores.
        scoped.conn.exec_driver_sql(
            "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL max_parallel_workers_per_gather = 0")
