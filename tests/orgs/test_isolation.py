"""Organizations never see each other: customers, categories and API keys are per organization.

``tenant`` is organization A and ``other_tenant`` organization B throughout.
"""

from __future__ import annotations

import pytest

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from telemetron.errors import NotFound
from telemetron.orgs.apikeys import create_api_key, revoke_api_key
from tests.support.databases import count
from tests.support.http import rejected
from tests.support.tenants import Tenant

PATH = "/api/ext-v1/ticket/createTicket"


# --- helpers -----------------------------------------------------------------------------------


def create_ticket(http, api_key: str, **fields):
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    return http.post(PATH, json=body, headers={"x-api-key": api_key})


def created(response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body



def rows(db, table: str, tenant: Tenant) -> int:
    return count(db, f"select count(*) from {table} where organization_id = :o", o=tenant.id)


def revoke(db, tenant: Tenant, key_id: str) -> None:
    db.run_sync(lambda conn: revoke_api_key(Scoped(db, conn, tenant.id), key_id))


def second_key(db, tenant: Tenant) -> tuple[str, str]:
    key = db.run_sync(lambda conn: create_api_key(conn, org_id=tenant.id, name="second"))
    return key.id, key.key


# --- customers ----------------------------------------------------------------------------------


def test_customer_of_a_cannot_be_used_by_b(http, db, tenant, other_tenant):
    a_customer = created(create_ticket(http, tenant.api_key, customerEmail="alice@example.com"))["customerId"]

    response = create_ticket(http, other_tenant.api_key, customerEmail=None, customerId=a_customer)
    body = rejected(response, 404, "customer_not_found")
    assert body["error"] == "Customer not found or does not belong to this organization"
    assert body["field"] == "customerId"
    # Nothing stored for B; A is untouched.
    for table in ("tickets", "customers", "ticket_messages"):
        assert rows(db, table, other_tenant) == 0
    assert rows(db, "tickets", tenant) == 1
    assert rows(db, "customers", tenant) == 1


def test_customer_of_a_with_its_email_is_still_404_for_b(http, db, tenant, other_tenant):
    """Knowing both the id and the email of A's customer gives B nothing either."""
    a_customer = created(create_ticket(http, tenant.api_key, customerEmail="alice@example.com"))["customerId"]
    response = create_ticket(http, other_tenant.api_key, customerEmail="alice@example.com", customerId=a_customer)
    rejected(response, 404, "customer_not_found")
    assert rows(db, "customers", other_tenant) == 0
    assert rows(db, "tickets", other_tenant) == 0


def test_same_email_makes_two_different_customers(http, db, tenant, other_tenant):
    in_a = created(create_ticket(http, tenant.api_key, customerEmail="shared@example.com"))
    in_b = created(create_ticket(http, other_tenant.api_key, customerEmail="Shared@Example.com"))
    assert in_a["customerCreated"] is True
    assert in_b["customerCreated"] is True
    assert in_a["customerId"] != in_b["customerId"]
    assert count(db, "select count(*) from customers where id = :c and organization_id = :o", c=in_a["customerId"], o=tenant.id) == 1
    assert count(db, "select count(*) from customers where id = :c and organization_id = :o", c=in_b["customerId"], o=other_tenant.id) == 1
    # Each organization's later tickets go to its own customer.
    again_b = created(create_ticket(http, other_tenant.api_key, customerEmail="shared@example.com"))
    assert again_b["customerId"] == in_b["customerId"]
    assert again_b["customerCreated"] is False


def test_tickets_are_stored_for_the_organization_of_the_key(http, db, tenant, other_tenant):
    body = created(create_ticket(http, other_tenant.api_key))
    assert count(db, "select count(*) from tickets where id = :t and organization_id = :o", t=body["ticketId"], o=other_tenant.id) == 1
    assert rows(db, "tickets", tenant) == 0


# --- categories ---------------------------------------------------------------------------------


def test_category_of_a_is_not_matched_for_b(http, db, tenant, other_tenant):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="Firmware"))

    in_a = created(create_ticket(http, tenant.api_key, category="firmware"))
    assert in_a["category"] == "Firmware"
    assert in_a["categorySource"] == "provided"

    in_b = created(create_ticket(http, other_tenant.api_key, category="firmware"))
    assert in_b["category"] is None
    assert in_b["categorySource"] == "none"
    assert any("firmware" in w for w in in_b["warnings"]), in_b["warnings"]
    assert count(db, "select count(*) from tickets where id = :t and category_id is null", t=in_b["ticketId"]) == 1


def test_shared_category_name_maps_to_each_organizations_own_category(http, db, tenant, other_tenant):
    in_a = created(create_ticket(http, tenant.api_key, category="Battery"))
    in_b = created(create_ticket(http, other_tenant.api_key, category="Battery"))
    with db.engine.connect() as conn:
        owners = {
            row[0]: row[1]
            for row in conn.exec_driver_sql(
                "select t.id, c.organization_id from tickets t join categories c on c.id = t.category_id"
                f" where t.id in ('{in_a['ticketId']}', '{in_b['ticketId']}')"
            )
        }
    assert owners == {in_a["ticketId"]: tenant.id, in_b["ticketId"]: other_tenant.id}


# --- API keys -----------------------------------------------------------------------------------


def test_revoked_key_is_refused_at_once_and_other_organizations_keep_working(http, db, tenant, other_tenant):
    created(create_ticket(http, tenant.api_key))  # A's key works before...
    revoke(db, tenant, tenant.api_key_id)

    body = rejected(create_ticket(http, tenant.api_key, customerEmail="after@example.com"), 401, "invalid_api_key")
    assert "API key" in body["error"]
    assert rows(db, "tickets", tenant) == 1
    assert count(db, "select count(*) from customers where organization_id = :o and email = 'after@example.com'", o=tenant.id) == 0

    # The Bearer form of the revoked key is refused too.
    bearer = http.post(
        PATH,
        json={"title": "x", "customerEmail": "after@example.com"},
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    )
    rejected(bearer, 401, "invalid_api_key")

    created(create_ticket(http, other_tenant.api_key))
    assert rows(db, "tickets", other_tenant) == 1


def test_second_key_keeps_working_after_the_first_is_revoked(http, db, tenant):
    second_id, second = second_key(db, tenant)
    assert second != tenant.api_key and second_id != tenant.api_key_id
    created(create_ticket(http, tenant.api_key))
    created(create_ticket(http, second))

    revoke(db, tenant, tenant.api_key_id)
    rejected(create_ticket(http, tenant.api_key), 401, "invalid_api_key")
    body = created(create_ticket(http, second))
    # The second key creates tickets for the same organization, with the same customers.
    assert count(db, "select count(*) from tickets where id = :t and organization_id = :o", t=body["ticketId"], o=tenant.id) == 1
    assert rows(db, "customers", tenant) == 1
    assert body["customerCreated"] is False


def test_revoking_the_second_key_leaves_the_first_working(http, db, tenant):
    second_id, second = second_key(db, tenant)
    revoke(db, tenant, second_id)
    rejected(create_ticket(http, second), 401, "invalid_api_key")
    created(create_ticket(http, tenant.api_key))


def test_key_of_one_organization_cannot_be_revoked_through_another(db, tenant, other_tenant):
    with pytest.raises(NotFound):
        revoke(db, other_tenant, tenant.api_key_id)
    assert count(db, "select count(*) from api_keys where id = :k and revoked_at is null", k=tenant.api_key_id) == 1
