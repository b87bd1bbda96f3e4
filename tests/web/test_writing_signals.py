"""In a real Chromium: a trainer types part of an answer and pastes the rest; the task page
records only the aggregates, the server stores them with the answer and flags the paste; staff
see the evidence and decide; the trainer reads the decision and replies."""

from __future__ import annotations

import re

import pytest

from .helpers import demo_projects

pytestmark = pytest.mark.browser

PASTE = ("Photosynthesis converts light energy into chemical energy stored in glucose. It uses carbon dioxide "
         "and water and releases oxygen. The light reactions make ATP and NADPH in the thylakoids; the Calvin "
         "cycle in the stroma then fixes carbon into sugars that feed the plant and, in the end, us.")
TYPED = "My summary: "


def test_pasting_is_recorded_as_aggregates_flagged_decided_and_answered(visit, live_site):
    ids = demo_projects(live_site)
    v = visit("trainer")
    v.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_site.base)
    page = v.page
    page.goto("/work")
    key = page.get_attribute(f".project-card[data-project-id='{ids['sft']}'] [data-hotkey]", "data-hotkey")
    with page.expect_navigation():
        page.keyboard.press(key)
    aid = int(re.search(r"/tasks/(\d+)", page.url).group(1))
    assert "never your keystrokes" in page.inner_text(".submit-row")

    box = page.locator("textarea[name=completion]")
    box.fill("")
    box.click()
    page.keyboard.type(TYPED, delay=15)
    page.evaluate("text => navigator.clipboard.writeText(text)", PASTE)
    page.keyboard.press("Control+V")
    page.wait_for_timeout(1100)  # no key for over a second: what appears now was not typed
    page.evaluate("document.execCommand('insertText', false, ' (ok)')")
    assert box.input_value() == TYPED + PASTE + " (ok)"
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Submitted" in page.inner_text(".flashes")
    assert not v.errors, v.errors

    queue = live_site.api("GET", f"/api/v1/projects/{ids['sft']}/authenticity?status=all", "admin").json()
    check = next(c for c in queue if c["assignment_id"] == aid)
    s = check["signals"]["completion"]
    assert s["pasted_chars"] == len(PASTE) and s["paste_events"] == 1 and s["paste_sizes"] == [len(PASTE)]
    assert s["typed_chars"] == len(TYPED) and s["keystrokes"] >= len(TYPED)
    assert s["inserted_without_keys"] == len(" (ok)") and s["insert_events_without_keys"] == 1
    assert s["final_chars"] == len(TYPED + PASTE + " (ok)")
    assert s["interkey"]["n"] >= len(TYPED) - 1 and s["interkey"]["median_ms"] > 0
    assert set(s) <= {"typed_chars", "pasted_chars", "paste_events", "paste_sizes", "inserted_without_keys",
                      "insert_events_without_keys", "keystrokes", "away_seconds", "away_events", "final_chars",
                      "interkey"}  # aggregates only: no keys, no text
    assert PASTE not in str(check["signals"])
    assert check["status"] == "flagged" and check["reasons"][0]["kind"] == "unkeyed_text"
    page.goto("/work")
    assert "authenticity question" in page.inner_text("[data-open-flags]")

    # staff see the evidence in the console and clear it with a note
    staff = visit("admin")
    staff.page.goto(f"/manage/projects/{ids['sft']}/authenticity")
    card = staff.page.locator(f"[data-check='{check['id']}']")
    assert "unkeyed_text" in card.inner_text() and str(len(PASTE)) in card.inner_text()
    card.locator("textarea[name=note]").fill("Quoted from the course notes, as the guidelines allow.")
    with staff.page.expect_navigation():
        card.locator("button[value=cleared]").click()
    assert "cleared" in staff.page.inner_text(".flashes")

    # the trainer reads it in words and replies
    page.goto("/work/flags")
    flag = page.locator(f"[data-flag='{check['id']}']")
    assert "of the text was pasted or inserted without typing" in flag.inner_text()
    assert "Quoted from the course notes" in flag.inner_text() and "cleared" in flag.inner_text()
    flag.locator("textarea[name=reply]").fill("Thank you.")
    with page.expect_navigation():
        flag.locator("button[type=submit]").click()
    assert "Your reply was sent" in page.inner_text(".flashes")
    page.goto("/work/writing-signals")
    assert "We never record which keys you press" in page.inner_text("main")
