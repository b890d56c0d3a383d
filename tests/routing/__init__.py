"""Routing tests: rules, teams and their admin commands, seen by a client (HTTP) and an admin (CLI)."""
