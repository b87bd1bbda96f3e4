"""A form field sent as a file where the page expects text is read as empty, never a 500."""

from __future__ import annotations

import re

from expertloop.services import consent
from tests import factories as f


def test_a_withdrawal_reason_sent_as_a_file_is_ignored(client, session):
    p = f.project(session, "label", terms="# Terms\n\nYour answers train models.")
    trainer = f.expert(session)
    consent.agree(session, f.trainer_actor(trainer), p["id"], 1)
    tok = f.token(session, "trainer", trainer["id"])
    page = client.get("/signin?tab=token")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/signin/token", data={"token": tok, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    page = client.get("/work")  # signing in starts a new session with a new CSRF token
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    r = client.post(f"/work/projects/{p['id']}/terms/withdraw", data={"confirm": "yes", "csrf_token": csrf},
                    files={"reason": ("reason.txt", b"not text", "text/plain")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    [row] = consent.list_consents(session, f.ADMIN, p["id"])
    assert row["withdrawn_at"] is not None and row["withdrawal_reason"] is None
