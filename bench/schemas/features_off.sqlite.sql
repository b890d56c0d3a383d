-- The search index becomes a plain table: each ticket's document is still inserted, unindexed.
DROP TABLE IF EXISTS ticket_search_terms;
DROP TABLE IF EXISTS ticket_search_vocab;
DROP TABLE ticket_search;
CREATE TABLE ticket_search (title TEXT, people TEXT, body TEXT);
