"""Optional LLM engine: any OpenAI-compatible chat-completions endpoint picks the category.

Off unless ``TELEMETRON_TRIAGE_LLM_BASE_URL`` and ``TELEMETRON_TRIAGE_LLM_MODEL`` are set. The
model is shown the organization's categories as a numbered list and must answer with one number
and nothing else (0 for none of them): anything else, an HTTP error or the timeout (5 s by
default) falls back to the offline engine. When configured it also writes a ticket's description
from its conversation. The API key is sent only as a bearer token, never logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import aiohttp

from telemetron.triage.classifier import Prediction

logger = logging.getLogger("telemetron.triage")
_ANSWER = re.compile(r"^\s*(\d+)\s*\.?\s*$")
MAX_PROMPT_CHARS = 6000


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 5.0


def _chat(settings: LLMSettings, system: str, user: str, max_tokens: int) -> dict:
    return {
        "model": settings.model,
        "temperature": 0,
        "max_tokens": max_tokens,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user[:MAX_PROMPT_CHARS]}],
    }


async def _complete(session: aiohttp.ClientSession, settings: LLMSettings, body: dict) -> str | None:
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    url = settings.base_url.rstrip("/") + "/chat/completions"
    try:
        async with session.post(url, json=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=settings.timeout)) as response:
            if response.status != 200:
                logger.warning("LLM answered HTTP %s; using the offline engine", response.status)
                return None
            data = await response.json(content_type=None)
            return data["choices"][0]["message"]["content"]
    except TimeoutError:
        logger.warning("LLM did not answer within %.1f s; using the offline engine", settings.timeout)
    except (aiohttp.ClientError, KeyError, IndexError, TypeError, ValueError) as exc:
        logger.warning("LLM call failed (%s); using the offline engine", type(exc).__name__)
    return None


async def categorize(session: aiohttp.ClientSession, settings: LLMSettings, categories: list[tuple[str, str, str]],
                     text: str) -> Prediction | None:
    """``categories``: (label, name, description). A Prediction (label None = "none of them"), or
    None when the LLM gave no usable answer and the offline engine must decide."""
    listing = "\n".join(f"{i}. {name}: {description}".rstrip(": ") for i, (_l, name, description) in enumerate(categories, 1))
    system = (
        "You sort customer-support tickets into categories. Categories:\n"
        f"{listing}\n"
        "Answer with the number of the one category that fits the ticket best, or 0 if none fits. "
        "Answer with the number only."
    )
    answer = await _complete(session, settings, _chat(settings, system, text, max_tokens=5))
    if answer is None:
        return None
    match = _ANSWER.match(answer)
    if not match or int(match.group(1)) > len(categories):
        logger.warning("LLM answer %r is not a category number; using the offline engine", answer[:40])
        return None
    number = int(match.group(1))
    if number == 0:
        return Prediction(label=None, confidence=1.0, top=[], engine="llm")
    label = categories[number - 1][0]
    return Prediction(label=label, confidence=1.0, top=[(label, 1.0)], engine="llm")


async def describe(session: aiohttp.ClientSession, settings: LLMSettings, transcript: str) -> str | None:
    """A short description of a support conversation, or None (the offline description is used)."""
    system = ("Summarize this customer-support conversation as a ticket description for an agent: "
              "the customer's problem first, in two to four plain sentences. No greeting, no preamble.")
    answer = await _complete(session, settings, _chat(settings, system, transcript, max_tokens=300))
    answer = (answer or "").strip()
    return answer[:4000] or None
