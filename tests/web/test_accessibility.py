"""Every page of the web app, checked in a real browser at a desktop width and at a phone's
(390 px): axe-core (vendored in tests/web/vendor, injected by the driver) finds no serious or
critical violation, and nothing is wider than the screen (tables stack or scroll in their box)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from telemetron.db.scoped import Scoped
from telemetron.mail.mailboxes import add_mailbox
from telemetron.notifications.deliveries import send_webhook_test
from tests.support.http import create_ticket
from tests.support.notifications import use_slack, use_webhook
from tests.support.web import sign_in

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def problems(page) -> list[str]:
    """Serious or critical axe violations, and horizontal overflow, on the page as it is."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # through the driver: the page's CSP does not apply to it
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
             for v in result["violations"] if v["impact"] in ("serious", "critical")]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        found.append(f"the page is {overflow}px wider than the screen")
    return found


def admin_paths(page, http, org, db) -> list[str]:
    ticket = create_ticket(http, org.tenant, title="A long title " * 8, customerEmail="x" * 40 + "@example.com",
                           messages=[{"role": "customer", "content": "Unbroken" * 30}])
    page.goto("/admin/routing")
    form = page.locator("#add-rule")
    form.get_by_label("Name").fill("Everything to Sam")
    form.get_by_label("Set priority").select_option("high")
    form.get_by_role("button", name="Add rule").click()
    page.goto("/admin/macros")
    page.locator("#add-macro").get_by_label("Name").fill("Thanks")
    page.locator("#add-macro").get_by_label("Reply").fill("Thanks {{customer_name}}")
    page.get_by_role("button", name="Add macro").click()
    page.goto("/admin/teams")
    page.locator("#add-team").get_by_label("Name").fill("Support")
    page.get_by_role("button", name="Add team").click()
    html = lambda path: (page.goto(path), page.content())[1]  # noqa: E731
    rule = re.search(r'href="(/admin/routing/rules/rule_[0-9a-f]+)"', html("/admin/routing")).group(1)
    macro = re.search(r'href="(/admin/macros/mac_[0-9a-f]+)"', html("/admin/macros")).group(1)
    category = re.search(r'href="(/admin/categories/cat_[0-9a-f]+)"', html("/admin/categories")).group(1)
    return ["/tickets", f"/tickets/{ticket['ticketId']}", f"/customers/{ticket['customerId']}", "/admin/categories",
            category, "/admin/members", "/admin/api-keys", "/admin/routing", rule, "/admin/teams", "/admin/macros",
            macro, "/admin/notifications", *settings_paths(page, db, org), "/no/such/page"]


def settings_paths(page, db, org) -> list[str]:
    """Slack and a webhook with a delivered and a failed delivery; a mailbox with IMAP."""
    use_slack(db, org.id, "https://hooks.slack.com/services/T0/B0/" + "x" * 24)
    endpoint = use_webhook(db, org.id, "https://example.com/" + "a-long-path/" * 6)
    for status, error in (("delivered", None), ("failed", "the endpoint answered 410 gone")):
        message_id = db.run_sync(lambda conn: send_webhook_test(Scoped(db, conn, org.id), endpoint["id"]))
        db.run_sync(lambda conn, values={"s": status, "e": error, "i": message_id}: conn.execute(
            text("update outbox set status = :s, attempts = 1, last_error = :e where id = :i"), values))
    mailbox = db.run_sync(lambda conn: add_mailbox(Scoped(db, conn, org.id), address=f"help-{org.id[4:]}@acme.example",
                                                   smtp_url="smtp+starttls://help:pw@smtp.acme.example:587",
                                                   imap_url="imaps://help:pw@imap.acme.example:993/INBOX"))
    return [f"/admin/notifications/webhooks/{endpoint['id']}", "/admin/mailboxes", f"/admin/mailboxes/{mailbox['id']}"]


def forms_just_sent(page) -> dict[str, list[str]]:
    """The pages a settings form answers with: a new secret shown once, a test's result."""
    page.goto("/admin/notifications")
    page.locator("#add-webhook").get_by_label("Endpoint URL").fill("https://example.com/another")
    page.get_by_role("button", name="Add endpoint").click()
    found = {"/admin/notifications (webhook added)": problems(page)}
    page.goto("/admin/mailboxes")
    form = page.locator("#add-mailbox")
    form.get_by_label("Support address").fill("second@acme.example")
    form.get_by_role("group", name="Sending (SMTP)").get_by_label("Server", exact=True).fill("smtp.acme.example")
    form.get_by_role("group", name="Sending (SMTP)").get_by_label("Port", exact=True).fill("587")
    form.get_by_role("button", name="Add mailbox").click()
    found["/admin/mailboxes (mailbox added)"] = problems(page)
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits_the_screen(page, org, http, width, db, monkeypatch):
    monkeypatch.setenv("TELEMETRON_SECRET_KEY", "tests-only-secret-key")  # mailbox URLs are encrypted with it
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page.goto("/signin")
    found = {"/signin": problems(page)}
    sign_in(page, org.admin.email)
    for path in admin_paths(page, http, org, db):
        page.goto(path)
        found[path] = problems(page)
    found.update(forms_just_sent(page))
    page.goto("/tickets")
    page.keyboard.press("?")  # the shortcuts' help, open
    found["/tickets (shortcuts open)"] = problems(page)
    assert {path: issues for path, issues in found.items() if issues} == {}


def test_the_404_page_keeps_the_navigation_and_the_skip_link_works(page, org):
    sign_in(page, org.agent.email)
    response = page.goto("/no/such/page")
    assert response.status == 404
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").is_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    assert skip.evaluate("el => el === document.activeElement") and skip.is_visible()
    skip.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def _luminance(rgb: tuple[int, ...]) -> float:
    channels = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_form_controls_borders_contrast_at_least_3_to_1(page, org, http):
    """WCAG 1.4.11 (axe does not check it): a text box's border against the page behind it."""
    create_ticket(http, org.tenant, title="Anything")
    sign_in(page, org.agent.email)
    colours = page.evaluate("""() => Array.from(document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea'))
        .filter(el => el.offsetParent !== null)
        .map(el => {
          let back = el.parentElement, bg = 'rgba(0, 0, 0, 0)';
          while (back && (bg = getComputedStyle(back).backgroundColor) === 'rgba(0, 0, 0, 0)') back = back.parentElement;
          return [el.name, getComputedStyle(el).borderTopColor, bg];
        })""")
    assert len(colours) >= 5
    rgb = lambda css: tuple(int(n) for n in re.findall(r"\d+", css)[:3])  # noqa: E731
    low = {name: round(contrast(rgb(border), rgb(back)), 2) for name, border, back in colours
           if contrast(rgb(border), rgb(back)) < 3}
    assert low == {}
