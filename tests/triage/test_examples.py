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
    # The categories' own examples are balanced (c1 has two, c2 one: each adds up to their mean,
    # 1.5); labelled tickets are not.
    assert ex == {
        ("card arrival: The card has not arrived yet", "c1"): 0.75,
        ("Where is my card?", "c1"): 0.75,
        ("refund", "c2"): 1.5,
        ("my card is late", "c1"): CORRECTION_WEIGHT,
        ("give my money back", "c2"): CORRECTION_WEIGHT,
    }


def test_a_description_lists_examples_and_every_category_weighs_the_same():
    cats = [
        CategoryDef("bill", "Billing", "Charges for rides, refunds, receipts and card problems",
                    ["I was charged twice for one ride", "please refund my day pass"]),
        CategoryDef("app", "App & Account", "I can't log in; the app crashes or freezes"),
    ]
    ex = {(e.text, e.label): e.weight for e in build_examples(cats)}
    assert {t for t, label in ex if label == "bill"} >= {"Charges for rides", "refunds", "receipts", "card problems"}
    assert {t for t, label in ex if label == "app"} == {
        "App & Account: I can't log in; the app crashes or freezes", "I can't log in", "the app crashes", "freezes"}
    by_category = {label: sum(w for (_, lab), w in ex.items() if lab == label) for label in ("bill", "app")}
    assert abs(by_category["bill"] - by_category["app"]) < 1e-9


def test_a_category_described_only_is_not_outweighed_by_one_with_example_phrases():
    """A new organization's first tickets (an audit's bike-share organization): categories with
    example phrases took the tickets of those described only."""
    cats = [
        CategoryDef("bill", "Billing", "Charges for rides, refunds, membership payments, receipts",
                    ["I was charged twice for one ride", "please refund my day pass", "my card was declined"]),
        CategoryDef("dock", "Docking", "A bike won't unlock from the station or won't lock back in",
                    ["the dock didn't register my return", "scanning the QR code doesn't release the bike"]),
        CategoryDef("app", "App & Account", "I can't log in, the app crashes or freezes, password reset"),
        CategoryDef("lost", "Lost & Found", "I left or lost a personal item: phone, keys, bag, wallet"),
    ]
    model = train(build_examples(cats), engine="lexical")
    preds = model.predict(["password reset does not work", "lost my keys", "the app freezes"], threshold=0.0)
    assert [p.best for p in preds] == ["app", "lost", "app"]


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
