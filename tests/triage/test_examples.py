from telemetron.triage import (
    CORRECTION_WEIGHT,
    CategoryDef,
    LabelledTicket,
    build_examples,
    humanize,
    ticket_text,
    train,
)


def test_build_examples_from_definitions_and_tickets():
    cats = [
        CategoryDef("c1", "card_arrival", "The card has not arrived yet", ["Where is my card?"]),
        CategoryDef("c2", "refund", ""),
    ]
    tickets = [
        LabelledTicket("my card is late", "c1"),
        LabelledTicket("give my money back", "c2", corrected=True),
        LabelledTicket("old category", "c9"),  # not active any more: left out
        LabelledTicket("my card is late", "c1", corrected=True),  # duplicate: max weight
    ]
    ex = {(e.text, e.label): e.weight for e in build_examples(cats, tickets)}
    assert ex == {
        ("card arrival: The card has not arrived yet", "c1"): 1.0,
        ("Where is my card?", "c1"): 1.0,
        ("refund", "c2"): 1.0,
        ("my card is late", "c1"): CORRECTION_WEIGHT,
        ("give my money back", "c2"): CORRECTION_WEIGHT,
    }


def test_learns_from_definitions_alone():
    cats = [
        CategoryDef("bat", "Battery", "The device will not charge, the battery drains, no power"),
        CategoryDef("net", "Connectivity", "Wi-Fi, Bluetooth or cellular connection problems"),
        CategoryDef("bill", "Billing", "Invoices, charges, subscription and payment questions"),
    ]
    model = train(build_examples(cats), engine="lexical")
    preds = model.predict(["my battery drains", "wifi connection problem", "invoice charges"],
                          threshold=0.0)
    assert [p.best for p in preds] == ["bat", "net", "bill"]


def test_ticket_text_and_humanize():
    assert ticket_text("Title", "  Desc ", ["m1", "", "m2"]) == "Title\nDesc\nm1\nm2"
    assert ticket_text(None, None, None) == ""
    assert len(ticket_text("x" * 10_000)) == 4000
    assert humanize("card_arrival-late") == "card arrival late"
