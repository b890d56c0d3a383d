-- The ticket number's unique index dropped: with bench/variants/core/sitecustomize.py no number is
-- written. For bench/intake.py --variant LABEL:BENCH_SCHEMA=features_off+number_off,PYTHONPATH=...
-- only (bench/README.md, "createTicket's own path against 27ffb8b").
DROP INDEX ix_tickets_organization_id_number;
