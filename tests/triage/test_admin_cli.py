"""``telemetron category add --example`` and ``telemetron triage train|status|threshold``."""

from __future__ import annotations

import json


def test_train_status_and_threshold(cli, http):
    org = json.loads(cli("org", "create", "Triage CLI org", "--json").stdout)
    org_id = org["organizationId"]
    status = json.loads(cli("triage", "status", "--org", org_id, "--json").stdout)
    assert status["model"] is None and status["threshold"] is None
    assert "threshold:        0.5 (the default)" in cli("triage", "status", "--org", org_id).stdout

    failed = cli("triage", "train", "--org", org_id)
    assert failed.exit_code == 1 and "no active, AI-enabled category" in failed.output

    added = cli("category", "add", "--org", org_id, "Shipping", "--description", "Deliveries, parcels and tracking",
                "--example", "where is my parcel", "--example", "the tracking number does not work")
    assert added.exit_code == 0, added.output
    cli("category", "add", "--org", org_id, "Returns", "--description", "Sending products back, exchanges")
    trained = cli("triage", "train", "--org", org_id)
    assert trained.exit_code == 0 and "trained" in trained.output
    status = json.loads(cli("triage", "status", "--org", org_id, "--json").stdout)
    assert status["model"]["version"] == 1 and status["model"]["example_count"] >= 4

    assert cli("triage", "threshold", "--org", org_id, "0.8").exit_code == 0
    assert json.loads(cli("triage", "status", "--org", org_id, "--json").stdout)["threshold"] == 0.8
    assert cli("triage", "threshold", "--org", org_id, "1.5").exit_code != 0

    ticket = http.post("/api/ext-v1/ticket/createTicket", headers={"x-api-key": org["apiKey"]},
                       json={"title": "My parcel tracking shows nothing for a week", "customerEmail": "c@example.com"}).json()
    assert ticket["category"] == "Shipping" and ticket["categorySource"] == "ai"
