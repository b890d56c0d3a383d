"""The optional LLM engine, against a local fake OpenAI-compatible endpoint (a real HTTP server)."""

from __future__ import annotations

import json

import httpx
import pytest

from telemetron.config import Settings
from tests.support.databases import count
from tests.support.receiver import Receiver, Reply
from tests.support.servers import LiveServer, free_port
from tests.support.triage import ai_tenant

URL = "/api/ext-v1/ticket/createTicket"


def completion(text: str) -> Reply:
    return Reply(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}),
                 {"Content-Type": "application/json"})


@pytest.fixture
def fake_llm():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def llm_server(database_url, fake_llm):
    server = LiveServer(Settings(
        database_url=database_url, run_worker=False,
        triage_llm_base_url=f"http://127.0.0.1:{fake_llm.port}/v1", triage_llm_model="fake-model",
        triage_llm_api_key="sk-test-secret", triage_llm_timeout_seconds=0.5,
    )).start()
    yield server
    server.stop()


def post(server, tenant, **body):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post(URL, headers=tenant.headers, json={"customerEmail": "ann@example.com", **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_llm_picks_the_category_from_a_numbered_list(db, llm_server, fake_llm):
    tenant = ai_tenant(db)
    fake_llm.answer(completion("2"))  # categories by name: Battery, Billing, Connectivity, Password reset
    body = post(llm_server, tenant, title="My WiFi keeps disconnecting")  # the offline engine would say Connectivity
    assert body["category"] == "Billing" and body["categorySource"] == "ai"
    request = fake_llm.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-secret"
    sent = request.json()
    assert sent["model"] == "fake-model" and sent["temperature"] == 0
    assert "2. Billing: Invoices, payments, refunds" in sent["messages"][0]["content"]
    assert "My WiFi keeps disconnecting" in sent["messages"][1]["content"]


def test_zero_means_none(db, llm_server, fake_llm):
    tenant = ai_tenant(db)
    fake_llm.answer(completion("0"))
    body = post(llm_server, tenant, title="Hello there")
    assert body["category"] is None and body["categorySource"] == "none"


@pytest.mark.parametrize("reply", [completion("Billing, I think"), completion("9"), Reply(500, "oops"),
                                   Reply(200, "not json"), Reply(200, "{}", delay=2.0)])
def test_anything_but_a_number_falls_back_to_the_offline_engine(db, llm_server, fake_llm, reply):
    tenant = ai_tenant(db)
    fake_llm.answer(reply)
    body = post(llm_server, tenant, title="My WiFi keeps disconnecting")
    assert body["category"] == "Connectivity" and body["categorySource"] == "ai"


def test_the_llm_writes_the_description_from_the_messages(db, llm_server, fake_llm):
    tenant = ai_tenant(db)
    fake_llm.answer(completion("The customer's hub loses WiFi every hour since Monday."), completion("3"))
    body = post(llm_server, tenant, title="Hub problem", messages=[
        {"role": "customer", "content": "since monday my hub drops wifi every hour"},
        {"role": "bot", "content": "Have you tried restarting it?"},
    ])
    assert body["descriptionGenerated"] is True and body["category"] == "Connectivity"
    assert count(db, "select count(*) from tickets where id = :t and description = :d", t=body["ticketId"],
                 d="The customer's hub loses WiFi every hour since Monday.") == 1
    assert "customer: since monday my hub drops wifi every hour" in fake_llm.requests[0].json()["messages"][1]["content"]


def test_no_llm_call_without_a_valid_key(llm_server, fake_llm):
    with httpx.Client(base_url=llm_server.url, timeout=30) as client:
        response = client.post(URL, headers={"x-api-key": "tlm_wrong"}, json={
            "title": "x", "customerEmail": "a@example.com", "messages": [{"role": "customer", "content": "hi"}]})
    assert response.status_code == 401
    assert fake_llm.requests == []
