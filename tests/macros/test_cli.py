"""``telemetron macro``: the same functions as the admins' web pages, scoped to the organization."""

from __future__ import annotations

from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.tenants import make_tenant


def test_add_list_delete_and_bad_input(cli, db):
    org = make_tenant(db)
    macro = as_json(cli("macro", "add", "--org", org.id, "Refund", "--content", "Hi {{customer_name}}",
                        "--status", "resolved", "--category", "billing", "--tag", "refund", "--json"))
    assert macro["actions"] == {"status": "resolved", "category": "Billing", "tags": ["refund"]}
    assert [m["name"] for m in as_json(cli("macro", "list", "--org", org.id, "--json"))] == ["Refund"]
    failed_readably(cli("macro", "add", "--org", org.id, "Bad", "--content", "{{nope}}"), "placeholder")
    failed_readably(cli("macro", "add", "--org", org.id, "Bad", "--status", "closed"), "status")
    other = make_tenant(db)
    failed_readably(cli("macro", "delete", "--org", other.id, macro["id"]), "not found")
    assert "deleted" in succeeded(cli("macro", "delete", "--org", org.id, macro["id"]))
    assert as_json(cli("macro", "list", "--org", org.id, "--json")) == []
