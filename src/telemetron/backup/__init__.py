"""Backups and moving an organization's data: ``telemetron db backup``, ``export``, ``import``."""
