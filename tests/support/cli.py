"""What an operator sees of a ``telemetron`` command (the ``cli`` fixture runs it in-process)."""

from __future__ import annotations

import json


def succeeded(result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


def as_json(result):
    return json.loads(succeeded(result))


def failed_readably(result, *words: str) -> str:
    """A non-zero exit with an ``error: ...`` line naming the problem, and no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    message = result.stderr
    assert message.startswith("error: "), message
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return message
