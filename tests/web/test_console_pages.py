"""Running a programme from the console, at desktop width and on a 360 px phone: invitations,
sign-up and password reset by link, experts added and edited, tokens revoked with the
sessions they opened, a project's lifecycle from draft to archived with a second guidelines
version, terms published while a trainer holds a lease, and the item browser."""

from __future__ import annotations

import json
import secrets

import pytest

from .helpers import demo_projects, stored

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}

NO_OVERFLOW = """() => { const d = document.documentElement; const over = [];
  for (const el of document.querySelectorAll('body *')) { const r = el.getBoundingClientRect();
    if (r.width && r.right > d.clientWidth + 1 && !el.closest('.table-wrap'))
      over.push(el.tagName + '.' + el.className); }
  return {scroll: d.scrollWidth, width: d.clientWidth, over: over.slice(0, 5)}; }"""


def fits(visitor) -> None:
    """Nothing makes the page wider than the screen; tables scroll inside their own box."""
    got = visitor.page.evaluate(NO_OVERFLOW)
    assert got["scroll"] <= got["width"] and not got["over"], (visitor.page.url, got)


def sign_out_in_view(visitor) -> None:
    box = visitor.page.locator(".who button[type=submit]").bounding_box()
    width = visitor.page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def _expert(site, **extra) -> dict:
    email = f"e{secrets.token_hex(4)}@example.org"
    r = site.api("POST", "/api/v1/experts", "admin", json={"name": "Ada Quill", "email": email, "languages": ["en"],
                                                           "hourly_rate_usd": "60.00", **extra})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("size", WIDTHS)
def test_invite_sign_up_reset_and_end_access(visit, live_site, size):
    viewport = WIDTHS[size]
    manager = visit("manager", viewport=viewport)
    page = manager.page
    page.goto("/manage/access")
    fits(manager)
    sign_out_in_view(manager)
    email = f"invitee-{size}-{secrets.token_hex(3)}@example.org"
    page.fill("#invite input[name=name]", "Ines Invitee")
    page.fill("#invite input[name=email]", email)
    page.fill("#invite input[name=domains]", "history:4")
    page.fill("#invite input[name=hourly_rate_usd]", "12,50")          # refused, never guessed
    page.click("[data-invite]")
    page.wait_for_selector(".problems-box")
    assert "hourly_rate_usd" in page.inner_text(".problems-box")
    assert page.input_value("#invite input[name=email]") == email      # what was typed is kept
    page.fill("#invite input[name=hourly_rate_usd]", "72.50")
    page.select_option("#invite select[name=role]", "reviewer")
    page.click("[data-invite]")
    page.wait_for_selector("[data-invite-url]")
    link = page.inner_text("[data-invite-url]").strip()
    assert "/join/" in link and "No mail is configured" in page.inner_text("#new-link")
    manager.shot(f"manage-access-{size}")
    fits(manager)

    newcomer = visit(viewport=viewport)
    newcomer.page.goto(link)
    assert newcomer.page.input_value("input[name=name]") == "Ines Invitee"     # prefilled from the invitation
    fits(newcomer)
    newcomer.page.fill("input[name=password]", "a fine long password")
    newcomer.page.fill("input[name=password_again]", "a different password")
    newcomer.page.click("[data-join]")
    newcomer.page.wait_for_selector(".flash-error")
    assert "differ" in newcomer.page.inner_text(".flash-error")
    newcomer.page.fill("input[name=password]", "a fine long password")
    newcomer.page.fill("input[name=password_again]", "a fine long password")
    with newcomer.page.expect_navigation():
        newcomer.page.click("[data-join]")
    assert newcomer.page.url.endswith("/review") and "Welcome" in newcomer.page.inner_text(".flashes")  # their queue
    assert newcomer.page.text_content(".who .role").strip() == "reviewer"          # the invitation's role
    sign_out_in_view(newcomer)
    fits(newcomer)
    # the link works once
    other = visit(viewport=viewport)
    other.page.goto(link)
    assert "already used or expired" in other.page.inner_text("main")
    expert = next(e for e in live_site.api("GET", "/api/v1/experts", "admin").json() if e["email"] == email)
    assert expert["domains"] == {"history": 4} and expert["hourly_rate_usd"] == "72.50"

    # an admin makes a reset link (no mail configured: it is shown); using it ends other sessions
    admin = visit("admin", viewport=viewport)
    admin.page.goto(f"/manage/experts/{expert['id']}")
    fits(admin)
    admin.page.click("[data-make-reset]")
    admin.page.wait_for_selector("[data-reset-url]")
    reset = admin.page.inner_text("[data-reset-url]").strip()
    phone = visit(viewport=viewport)
    phone.page.goto(reset)
    fits(phone)
    phone.page.fill("input[name=password]", "another long password")
    phone.page.fill("input[name=password_again]", "another long password")
    with phone.page.expect_navigation():
        phone.page.click("[data-reset]")
    assert phone.page.url.endswith("/review") and "password is changed" in phone.page.inner_text(".flashes")
    newcomer.page.goto("/my-work")
    assert "/signin" in newcomer.page.url                          # the old password's session ended
    newcomer.sign_in_password(email, "another long password")
    assert newcomer.page.url.endswith("/review")

    # revoking the expert's tokens ends their browser sessions too, and takes the reviewer role back
    admin.page.goto(f"/manage/experts/{expert['id']}")
    assert admin.page.locator("#expert-tokens [data-token-id]").count() == 1
    with admin.page.expect_navigation():
        admin.page.click("[data-end-access]")
    assert "1 token revoked" in admin.page.inner_text(".flashes")
    for v in (newcomer, phone):
        v.page.goto("/work")
        assert "/signin" in v.page.url
    newcomer.sign_in_password(email, "another long password")
    assert newcomer.page.text_content(".who .role").strip() == "trainer"
    assert not (manager.errors or newcomer.errors or admin.errors or phone.errors)


@pytest.mark.parametrize("size", WIDTHS)
def test_a_manager_adds_edits_and_revokes_tokens(visit, live_site, size):
    manager = visit("manager", viewport=WIDTHS[size])
    page = manager.page
    page.goto("/manage/experts/new")
    fits(manager)
    email = f"added-{size}-{secrets.token_hex(3)}@example.org"
    page.fill("#expert-form input[name=name]", "Omar Added")
    page.fill("#expert-form input[name=email]", email)
    page.fill("#expert-form input[name=languages]", "en;ar")
    page.fill("#expert-form input[name=domains]", "law:3")
    page.fill("#expert-form input[name=hourly_rate_usd]", "90.00")
    with page.expect_navigation():
        page.click("[data-save]")
    assert "is registered" in page.inner_text(".flashes")
    expert_id = int(page.url.rstrip("/").split("/")[-1])
    page.fill("#expert-form input[name=hourly_rate_usd]", "1,2")
    page.click("[data-save]")
    page.wait_for_selector(".problems-box")
    assert "hourly_rate_usd" in page.inner_text(".problems-box")
    stored = live_site.api("GET", f"/api/v1/experts/{expert_id}", "admin").json()
    assert stored["hourly_rate_usd"] == "90.00"                     # nothing changed
    page.fill("#expert-form input[name=hourly_rate_usd]", "95.00")
    page.fill("#expert-form input[name=domains]", "law:4;tax:2")
    with page.expect_navigation():
        page.click("[data-save]")
    stored = live_site.api("GET", f"/api/v1/experts/{expert_id}", "admin").json()
    assert stored["hourly_rate_usd"] == "95.00" and stored["domains"] == {"law": 4, "tax": 2}
    fits(manager)

    token = live_site.token_for(email)
    trainer = visit(token=token, viewport=WIDTHS[size])
    trainer.page.goto("/work")
    assert trainer.page.url.endswith("/work")
    page.goto("/manage/access")
    row = page.locator(f"#token-table tr:has(a[href='/manage/experts/{expert_id}'])")
    assert row.count() == 1
    with page.expect_navigation():
        row.locator("[data-revoke]").click()
    assert "is revoked" in page.inner_text(".flashes")
    assert live_site.api("GET", "/api/v1/me", token).status_code == 401
    trainer.page.goto("/work")
    assert "/signin" in trainer.page.url
    assert not manager.errors


@pytest.mark.parametrize("size", WIDTHS)
def test_a_project_from_draft_to_archive_with_a_second_guidelines_version(visit, live_site, size):
    viewport = WIDTHS[size]
    expert = _expert(live_site)
    trainer_token = live_site.token_for(expert["email"])
    manager = visit("manager", viewport=viewport)
    page = manager.page
    page.goto("/manage/projects/new")
    fits(manager)
    name = f"Clauses {size} {secrets.token_hex(2)}"
    page.fill("input[name=name]", name)
    page.select_option("select[name=task_type]", "label")
    page.fill("textarea[name=labels]", "enforceable, unenforceable")
    page.fill("textarea[name=guidelines]", "Read the clause.\nDecide under English law.")
    assert page.input_value("[data-start]") == "draft"
    with page.expect_navigation():
        page.click("form[data-task-type-form] button[type=submit]")
    assert "created as a draft" in page.inner_text(".flashes")
    pid = int(page.url.split("/manage/projects/")[1].split("#")[0].split("?")[0])
    assert page.inner_text("h1 [data-project-status]") == "draft"
    fits(manager)
    items = "\n".join(json.dumps({"external_id": f"k{i}", "text": f"Clause {i}"}) for i in range(4))
    page.set_input_files("input[name=file]", files=[{"name": "k.jsonl", "mimeType": "application/json",
                                                      "buffer": items.encode()}])
    page.click("#items button[type=submit]")
    page.wait_for_selector(".flash-success")

    trainer = visit(token=trainer_token, viewport=viewport)
    trainer.page.goto("/work")
    assert trainer.page.locator(f".project-card[data-project-id='{pid}']").count() == 0   # drafts lease nothing

    page.goto(f"/manage/projects/{pid}/settings")
    fits(manager)
    sign_out_in_view(manager)
    with page.expect_navigation():
        page.click("[data-status-to=live]")
    assert "The project is live" in page.inner_text(".flashes")
    trainer.page.goto("/work")
    card = trainer.page.locator(f".project-card[data-project-id='{pid}']")
    with trainer.page.expect_navigation():
        card.locator("button[type=submit]").click()
    assert "/tasks/" in trainer.page.url and trainer.page.locator("#guidelines-change").count() == 0
    fits(trainer)
    sign_out_in_view(trainer)

    # a second guidelines version: the trainer's next task shows what changed, once
    page.fill("#guidelines textarea[name=guidelines]", "Read the clause.\nDecide under Scots law.\nFlag penalties.")
    with page.expect_navigation():
        page.click("[data-publish-guidelines]")
    assert "version 2 published" in page.inner_text(".flashes")
    trainer.page.click("input[name=label][value=enforceable]", force=True)
    with trainer.page.expect_navigation():
        trainer.page.click("[data-default-submit]")
    change = trainer.page.locator("#guidelines-change")
    assert change.count() == 1
    text = change.inner_text()
    assert "version 1 → 2" in text and "Scots law" in text and "English law" in text
    assert trainer.page.locator("#guidelines-change .diff-add").count() == 2
    fits(trainer)
    trainer.shot(f"task-guidelines-change-{size}")
    trainer.page.click("input[name=label][value=unenforceable]", force=True)
    with trainer.page.expect_navigation():
        trainer.page.click("[data-default-submit]")
    assert trainer.page.locator("#guidelines-change").count() == 0   # shown once

    # budget and overlap: "12,50" is refused and nothing changes; a good change says what happens
    page.goto(f"/manage/projects/{pid}/settings")
    page.fill("#settings input[name=budget_usd]", "12,50")
    page.fill("#settings input[name=overlap]", "2")
    page.click("[data-save-settings]")
    page.wait_for_selector(".problems-box")
    assert "budget_usd" in page.inner_text(".problems-box")
    assert live_site.api("GET", f"/api/v1/projects/{pid}", "admin").json()["overlap"] == 1
    page.fill("#settings input[name=budget_usd]", "300.00")
    page.fill("#settings input[name=overlap]", "2")
    with page.expect_navigation():
        page.click("[data-save-settings]")
    flash = page.inner_text(".flashes")
    assert "budget now $300.00" in flash and "overlap 1 → 2" in flash
    fits(manager)

    # pause: the trainer's list no longer shows it; close releases the lease they hold; archive
    with page.expect_navigation():
        page.click("[data-status-to=paused]")
    trainer.page.goto("/work")
    assert trainer.page.locator(f".project-card[data-project-id='{pid}']").count() == 0
    with page.expect_navigation():
        page.click("[data-status-to=closed]")
    assert "live lease" in page.inner_text(".flashes")
    with page.expect_navigation():
        page.click("[data-status-to=archived]")
    assert page.inner_text("[data-project-status]") == "archived"
    manager.shot(f"manage-project-settings-{size}")
    page.goto("/manage")
    assert "archived" in page.inner_text(f"tr:has(a[href='/manage/projects/{pid}'])")
    fits(manager)
    assert not manager.errors and not trainer.errors


@pytest.mark.parametrize("size", WIDTHS)
def test_terms_published_while_a_lease_is_held_lead_to_the_terms_and_back(visit, live_site, size):
    viewport = WIDTHS[size]
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": f"Terms mid-task {size}", "task_type": "label", "options": {"labels": ["yes", "no"]}})
    pid = r.json()["id"]
    live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin",
                  json=[{"external_id": f"m{i}", "text": f"Claim {i}"} for i in range(3)])
    expert = _expert(live_site)
    trainer = visit(token=live_site.token_for(expert["email"]), viewport=viewport)
    tp = trainer.page
    tp.goto("/work")
    with tp.expect_navigation():
        tp.locator(f".project-card[data-project-id='{pid}'] button[type=submit]").click()
    task_url = tp.url
    assert "/tasks/" in task_url

    manager = visit("manager", viewport=viewport)
    mp = manager.page
    mp.goto(f"/manage/projects/{pid}/settings")
    mp.fill("#terms textarea[name=terms]", "# Terms\n\nYour labels train models.")
    with mp.expect_navigation():
        mp.click("[data-publish-terms]")
    assert "Terms version 1 published" in mp.inner_text(".flashes")

    tp.click("input[name=label][value=yes]", force=True)
    with tp.expect_navigation():
        tp.click("[data-default-submit]")
    assert tp.url.endswith(f"/work/projects/{pid}/terms")           # not an API message
    assert "published terms while you held your task" in tp.inner_text(".flashes")
    fits(trainer)
    with tp.expect_navigation():
        tp.click("[data-agree]")
    assert tp.url == task_url                                        # back to the same task
    tp.click("input[name=label][value=yes]", force=True)
    with tp.expect_navigation():
        tp.click("[data-default-submit]")
    assert "Submitted" in tp.inner_text(".flashes")

    # the manager records a withdrawal the trainer asked for by mail
    mp.goto(f"/manage/projects/{pid}/settings")
    fits(manager)
    mp.fill("#withdraw input[name=expert_id]", str(expert["id"]))
    mp.fill("#withdraw input[name=reason]", "asked by email")
    mp.click("[data-record-withdrawal]")
    mp.wait_for_selector(".flash-error")                             # the box must be ticked
    mp.fill("#withdraw input[name=expert_id]", str(expert["id"]))
    mp.fill("#withdraw input[name=reason]", "asked by email")
    mp.check("#withdraw input[name=confirm]")
    with mp.expect_navigation():
        mp.click("[data-record-withdrawal]")
    assert "Withdrawal recorded: 1 contribution" in mp.inner_text(".flashes")
    [row] = live_site.api("GET", f"/api/v1/projects/{pid}/consents", "admin").json()
    assert row["withdrawal_reason"] == "asked by email" and row["withdrawn_by"] == "manager"
    mp.goto(f"/manage/projects/{pid}")                              # the register no longer sends to the API
    assert "/api/v1" not in mp.inner_text("#consent") and mp.locator("#consent [data-publish-terms-link]").count()
    assert not trainer.errors and not manager.errors


@pytest.mark.parametrize("size", WIDTHS)
def test_the_item_browser_filters_shows_and_retires(visit, live_site, size):
    viewport = WIDTHS[size]
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": f"Browse {size}", "task_type": "label", "options": {"labels": ["yes", "no"]}, "overlap": 1})
    pid = r.json()["id"]
    live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=[
        {"external_id": "plain-1", "text": "The Danube flows into the Black Sea."},
        {"external_id": "gold-1", "text": "Vienna is the capital of Austria.", "gold": "yes"},
        {"external_id": "plain-2", "text": "Ostriches can fly."}])
    expert = _expert(live_site)
    tok = live_site.token_for(expert["email"])
    lease = live_site.api("POST", f"/api/v1/projects/{pid}/assignments/next", tok).json()
    live_site.api("POST", f"/api/v1/assignments/{lease['assignment_id']}/submit", tok,
                  json={"response": {"label": "yes"}})

    manager = visit("manager", viewport=viewport)
    page = manager.page
    page.goto(f"/manage/projects/{pid}")
    with page.expect_navigation():
        page.click("[data-items]")
    assert page.locator("#items [data-item-id]").count() == 3
    fits(manager)
    page.select_option("#item-filters select[name=gold]", "yes")
    with page.expect_navigation():
        page.click("#item-filters button[type=submit]")
    assert page.locator("#items [data-item-id]").count() == 1 and "gold-1" in page.inner_text("#items")
    page.goto(f"/manage/projects/{pid}/items?q=danube")
    assert page.locator("#items [data-item-id]").count() == 1
    page.goto(f"/manage/projects/{pid}/items?max_confidence=2")
    assert "between 0 and 1" in page.inner_text(".problems-box")

    judged = stored(live_site, lease["assignment_id"])["item"]["id"]
    page.goto(f"/manage/items/{judged}")
    fits(manager)
    assert "Ada Quill" in page.inner_text("#judgments") and page.locator("#content").count() == 1
    assert page.inner_text("[data-stat=agreement]") == "100%"
    manager.shot(f"manage-item-{size}")
    page.fill("#retire input[name=reason]", "duplicate")
    page.check("#retire input[name=confirm]")
    with page.expect_navigation():
        page.click("[data-retire]")
    assert "Item retired" in page.inner_text(".flashes") and page.locator("[data-retired]").count() == 1
    assert "Retired" in page.inner_text("#timeline")
    export = live_site.api("GET", f"/api/v1/projects/{pid}/export?format=label", "admin")
    assert export.status_code == 200 and export.text == ""          # retired: out of the export

    # a trainer reaches none of it, and never the gold
    trainer = visit(token=tok, viewport=viewport)
    gold_item = live_site.api("GET", f"/api/v1/projects/{pid}/items?gold=yes", "admin").json()["items"][0]["id"]
    trainer.page.goto(f"/manage/items/{gold_item}")
    assert "Vienna" not in trainer.page.content() and "Not allowed" in trainer.page.inner_text("main")
    trainer.page.goto(f"/manage/projects/{pid}/items")
    assert "gold-1" not in trainer.page.content()


MANAGER_PAGES = ["/manage", "/manage/experts", "/manage/access", "/manage/exams", "/manage/notifications",
                 "/review", "/manage/projects/new", "/manage/experts/new", "/manage/pay", "/manage/disputes",
                 "/manage/audit"]


def test_every_page_fits_a_360_px_phone(visit, live_site):
    ids = demo_projects(live_site)
    phone = WIDTHS["phone"]
    manager = visit("manager", viewport=phone)
    pref, sft = ids["preference"], ids["sft"]
    pages = [*MANAGER_PAGES, f"/manage/projects/{pref}", f"/manage/projects/{pref}/quality",
             f"/manage/projects/{pref}/settings", f"/manage/projects/{sft}/items"]
    for path in pages:
        manager.page.goto(path)
        fits(manager)
        sign_out_in_view(manager)
        nav = manager.page.locator(".nav a")
        for i in range(nav.count()):                      # every link of the navigation is on screen
            box = nav.nth(i).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= phone["width"], (path, box)
    manager.page.goto("/manage/experts")
    wrap = manager.page.locator(".table-wrap").first
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth && getComputedStyle(w).overflowX === 'auto'")
    manager.shot("phone-manage-experts", full_page=False)
    first_item = live_site.api("GET", f"/api/v1/projects/{ids['sft']}/items", "admin").json()["items"][0]["id"]
    manager.page.goto(f"/manage/items/{first_item}")
    fits(manager)

    trainer = visit("trainer", viewport=phone)
    for path in ("/work", "/my-work", "/exams", "/pay"):
        trainer.page.goto(path)
        fits(trainer)
        sign_out_in_view(trainer)
    trainer.page.goto("/work")
    trainer.shot("phone-work", full_page=False)
    for task_type in ("preference", "sft", "ranking", "factcheck"):
        trainer.page.goto("/work")
        card = trainer.page.locator(f".project-card[data-project-id='{ids[task_type]}']")
        # start a task, or resume one an earlier test left leased; a finished project has neither
        go = card.locator("button[type=submit], a.btn-primary[href^='/tasks/']")
        if go.count() == 0:
            continue
        with trainer.page.expect_navigation():
            go.first.click()
        if "/tasks/" in trainer.page.url:
            fits(trainer)
            sign_out_in_view(trainer)
            trainer.shot(f"phone-task-{task_type}", full_page=False)
    assert not manager.errors and not trainer.errors
