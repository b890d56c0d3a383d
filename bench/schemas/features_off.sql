-- createTicket without the write costs of the workspace's filter indexes: the tickets indexes
-- beyond 27ffb8b's (organization by created/updated, customer, number) are dropped. Then
-- features_off.<database>.sql takes out the search index's. For bench/intake.py
-- --variant LABEL:BENCH_SCHEMA=features_off only: filtered lists and searches of a database
-- changed this way are slow or broken.
DROP INDEX ix_tickets_category_updated;
DROP INDEX ix_tickets_category_created;
DROP INDEX ix_tickets_status_updated;
DROP INDEX ix_tickets_assignee_updated;
DROP INDEX ix_tickets_priority_updated;
DROP INDEX ix_tickets_unresolved_updated;
DROP INDEX ix_tickets_unresolved_created;
