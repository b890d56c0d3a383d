"""Telemetron: a self-hosted support ticketing service compatible with the ext-v1 specification."""

__version__ = "0.1.0"
