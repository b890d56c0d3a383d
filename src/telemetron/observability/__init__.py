"""What an operator sees: readiness (/readyz), Prometheus metrics (/metrics), one JSON access-log line per request."""
