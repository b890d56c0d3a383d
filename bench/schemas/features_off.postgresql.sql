-- The documents' GIN index is dropped: each ticket's tsvector is still built and stored.
DROP INDEX ix_ticket_search_document;
