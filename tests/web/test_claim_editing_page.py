"""A trainer corrects a fact-check's claim split with the keyboard alone, in a real browser:
split a claim at the cursor, add one, merge, delete, reload (the draft keeps the rows), then
judge and submit."""

from __future__ import annotations

import pytest

from .helpers import demo_projects, stored, wait_until
from .test_trainer_pages import start_by_keyboard, submit_by_keyboard

pytestmark = pytest.mark.browser


def test_split_add_merge_delete_then_judge(visit, live_site):
    v = visit("trainer")
    page = v.page
    aid = start_by_keyboard(v, demo_projects(live_site)["factcheck"])
    proposed = page.input_value("textarea[name=claim-text-0]")
    assert page.locator("[data-claim-row]").count() == 1                # the demo's items hold one claim
    cut = proposed.find(" ", len(proposed) // 2)
    assert cut > 0, proposed

    page.keyboard.press("t")                                             # edit the text: the cursor to a space
    page.keyboard.press("Control+Home")
    for _ in range(cut):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Escape")
    page.keyboard.press("p")                                             # split there
    assert page.locator("[data-claim-row]").count() == 2
    assert page.input_value("[name=claim-count]") == "2"
    assert page.input_value("textarea[name=claim-text-0]") == proposed[:cut].strip()
    assert page.inner_text("[data-claim-row]:nth-child(2) [data-claim-origin]") == "split"

    page.keyboard.press("s")                                             # claim 1 supported, on to claim 2
    page.keyboard.press("r")                                             # claim 2 refuted
    page.keyboard.press("a")                                             # add a claim after it: its text has focus
    wait_until(page, "document.activeElement && document.activeElement.value === ''"
                     " && (document.activeElement.name || '').startsWith('claim-text-')")
    page.keyboard.type("The answer names no source.")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    assert page.inner_text("[data-claim-row]:nth-child(3) [data-claim-origin]") == "added"
    page.keyboard.press("a")                                             # one more, then delete it again
    wait_until(page, "document.activeElement && document.activeElement.value === ''"
                     " && (document.activeElement.name || '').startsWith('claim-text-')")
    page.keyboard.type("A claim I did not mean to add.")
    page.keyboard.press("Escape")
    page.keyboard.press("x")
    assert page.input_value("[name=claim-count]") == "3"
    page.keyboard.press("k")
    page.keyboard.press("k")                                             # back to claim 2: merge it with claim 3
    page.keyboard.press("m")
    assert page.input_value("[name=claim-count]") == "2"
    merged = page.input_value("textarea[name=claim-text-1]")
    assert merged.endswith("The answer names no source.")
    v.shot("task-factcheck-claims", full_page=False)
    page.wait_for_timeout(600)                                           # the draft is saved as you work
    page.reload()                                                        # and survives a reload, rows and all
    assert page.input_value("[name=claim-count]") == "2"
    assert page.input_value("textarea[name=claim-text-1]") == merged
    assert page.is_checked("input[name=verdict-1][value=refuted]")
    submit_by_keyboard(v)
    assert v.errors == []

    claims = stored(live_site, aid)["response"]["claims"]
    assert [(c["text"], c["from"], c["origin"], c["verdict"]) for c in claims] == [
        (proposed[:cut].strip(), [0], "split", "supported"),
        (merged, [0], "split", "refuted")]
