"""ext-v1 devices endpoints (issue 5). Handlers only read the request, call one unit of work, and answer."""

from __future__ import annotations
