"""Telemetron: a self-hosted support ticketing service compatible with Telemetron's ext-v1 API."""

__version__ = "0.1.0"
