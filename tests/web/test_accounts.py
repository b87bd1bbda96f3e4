"""Accounts without a browser: invitation and reset links are single use and expire, mail goes
out over SMTP when ``EXPERTLOOP_SMTP_URL`` is set (to a real SMTP server on a socket), and an
expert's password sessions end when their access is ended or they are offboarded."""

from __future__ import annotations

import re
import socketserver
import threading
from datetime import timedelta
from email import message_from_bytes
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from expertloop.domain.policies import Actor, Role
from expertloop.services import accounts, auth, oversight
from expertloop.services.auth import set_password
from expertloop.services.clock import utcnow
from expertloop.services.mail import parse_smtp_url
from tests.factories import expert, token
from tests.web.helpers import PageClient

MANAGER = Actor(role=Role.manager, token_id=1)
ADMIN = Actor(role=Role.admin, token_id=1)


def _invite(session, **extra):
    return accounts.create_invitation(session, MANAGER, {"name": "Noor", "email": "noor@example.org",
                                                         "domains": "law:3", "languages": "en;ar", **extra})


def test_an_invitation_is_used_once_and_expires(session):
    link = _invite(session, role="reviewer", hourly_rate_usd="80.00")
    assert accounts.invitation(session, link["secret"])["profile"]["domains"] == {"law": 3}
    with pytest.raises(ValidationFailed):
        accounts.accept_invitation(session, link["secret"], "Noor", "short")
    actor, _fp = accounts.accept_invitation(session, link["secret"], "Noor N.", "a long enough password")
    assert actor.role == Role.reviewer                       # the invitation's role, granted as a token
    with pytest.raises(NotFound):
        accounts.accept_invitation(session, link["secret"], "Noor", "a long enough password")
    with pytest.raises(Conflict):                            # one expert per email
        _invite(session)
    late = _invite(session, email="late@example.org", expires_hours="1")
    with pytest.raises(NotFound):
        accounts.accept_invitation(session, late["secret"], "Late", "a long enough password",
                                   now=utcnow() + timedelta(hours=2))
    with pytest.raises(ValidationFailed) as bad:
        _invite(session, email="x@example.org", hourly_rate_usd="12,50", role="admin")
    assert bad.value.problems[0].loc == "role"
    with pytest.raises(ValidationFailed) as bad:
        _invite(session, email="x@example.org", hourly_rate_usd="12,50")
    assert [p.loc for p in bad.value.problems] == ["hourly_rate_usd"]
    trainer = Actor(role=Role.trainer, expert_id=actor.expert_id)
    with pytest.raises(PermissionDenied):                   # trainers invite nobody
        accounts.create_invitation(session, trainer, {"name": "Y", "email": "y@example.org"})


def test_a_reset_link_changes_the_password_once_and_ends_other_sessions(session):
    e = expert(session)
    auth.set_password(session, None, e["id"], "the first password")
    _actor, old_fp = auth.sign_in_with_password(session, e["email"], "the first password")
    with pytest.raises(PermissionDenied):
        accounts.create_reset(session, MANAGER, e["id"])     # admins make reset links
    link = accounts.create_reset(session, ADMIN, e["id"])
    accounts.reset_password(session, link["secret"], "the second password")
    with pytest.raises(NotFound):
        accounts.reset_password(session, link["secret"], "the third password")
    with pytest.raises(Unauthenticated):
        auth.actor_for_expert(session, e["id"], old_fp)
    assert accounts.create_reset(session, None, email="nobody@example.org") is None


def test_ending_access_or_offboarding_ends_password_sessions_and_tokens(session):
    e = expert(session)
    auth.set_password(session, None, e["id"], "the first password")
    _actor, fp = auth.sign_in_with_password(session, e["email"], "the first password")
    before = utcnow().timestamp() - 1
    auth.actor_for_expert(session, e["id"], fp, before)
    token(session, "reviewer", e["id"])
    open_link = accounts.create_reset(session, ADMIN, e["id"])
    done = accounts.end_access(session, MANAGER, e["id"])
    assert done["revoked_tokens"] == 1 and done["closed_links"] == 1
    with pytest.raises(NotFound):  # a reset link made before would have let them back in
        accounts.reset_password(session, open_link["secret"], "a way back in")
    with pytest.raises(Unauthenticated):
        auth.actor_for_expert(session, e["id"], fp, before)  # a session from before has ended
    actor = auth.actor_for_expert(session, e["id"], fp, utcnow().timestamp() + 1)  # a new sign-in works
    assert actor.role == Role.trainer                        # the reviewer token went with it

    other = expert(session)
    token(session, "trainer", other["id"])
    oversight.set_status(session, MANAGER, other["id"], "offboarded")
    assert accounts.expert_tokens(session, MANAGER, other["id"])[0]["revoked_at"] is not None


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT; messages kept in ``inbox``."""

    inbox: ClassVar[list] = []

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.strip().split(b" ")[0].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                self.inbox.append(message_from_bytes(data))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture()
def smtp():
    _Smtp.inbox = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"smtp://127.0.0.1:{server.server_address[1]}?from=noreply@example.org", _Smtp.inbox
    server.shutdown()
    server.server_close()


def test_invitations_and_resets_are_mailed_when_smtp_is_configured(database_url, session_factory, session, smtp):
    from expertloop.app import create_app

    url, inbox = smtp
    app = create_app(Settings(database_url=database_url, smtp_url=url), session_factory=session_factory)
    with TestClient(app) as raw:
        manager = PageClient(raw, token(session, "manager"), "/manage")
        r = manager.post("/manage/invitations", {"name": "Mira", "email": "mira@example.org", "role": "trainer"})
        assert r.status_code == 200 and "Sent by mail" in r.text
        [mail] = inbox
        assert mail["To"] == "mira@example.org" and mail["From"] == "noreply@example.org"
        link = re.search(r"http://testserver(/join/\S+)", mail.get_payload()).group(1)
        assert link in r.text                                  # shown to the manager as well
        raw.cookies.clear()
        assert raw.get(link).status_code == 200

        e = expert(session)
        set_password(session, None, e["id"], "an old password to forget")
        page = raw.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        # Without a configured public address nothing is mailed to an unauthenticated request:
        # its Host header could be anyone's, and the link would carry the secret there.
        r = raw.post("/forgot", data={"email": e["email"], "csrf_token": csrf}, follow_redirects=False,
                     headers={"Host": "evil.example"})
        assert r.status_code == 303 and len(inbox) == 1

    public = Settings(database_url=database_url, smtp_url=url, public_url="https://el.example.org")
    with TestClient(create_app(public, session_factory=session_factory)) as raw:
        page = raw.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = raw.post("/forgot", data={"email": e["email"], "csrf_token": csrf}, follow_redirects=False,
                     headers={"Host": "evil.example"})
        assert r.status_code == 303 and len(inbox) == 2
        mailed = inbox[1].get_payload()
        assert "https://el.example.org/reset/" in mailed and "evil.example" not in mailed
        r = raw.post("/forgot", data={"email": "nobody@example.org", "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and len(inbox) == 2          # nothing says whether the email exists


def test_smtp_urls_are_parsed_strictly():
    cfg = parse_smtp_url("smtps://me%40x.org:p%3Ass@mail.example.org?from=a@b.org")
    assert cfg == {"tls": True, "host": "mail.example.org", "port": 465, "user": "me@x.org", "password": "p:ss",
                   "sender": "a@b.org"}
    with pytest.raises(ValidationFailed):
        parse_smtp_url("http://mail.example.org")


def test_forgot_password_is_not_a_sign_up_for_experts_who_never_had_one(session):
    """An expert created by an import or a roster has no password: "forgot password" makes no
    link for them (it would be a sign-up without an invitation)."""
    from expertloop.services import accounts as accounts_svc

    e = expert(session)
    assert accounts_svc.create_reset(session, None, email=e["email"]) is None
    set_password(session, None, e["id"], "now there is one")
    assert accounts_svc.create_reset(session, None, email=e["email"])["path"].startswith("/reset/")


def test_forgot_password_is_limited_per_email_and_per_client_and_answers_alike(database_url, session_factory,
                                                                                 session, smtp):
    """At most three links an hour for one address, and twenty requests an hour from one client
    (counted in the database, so every worker sees them); every answer is the same redirect
    with the same words, whether the account exists or a limit was reached."""
    from expertloop.app import create_app
    from expertloop.services import password_reset

    url, inbox = smtp
    e = expert(session)
    set_password(session, None, e["id"], "an old password to forget")
    public = Settings(database_url=database_url, smtp_url=url, public_url="https://el.example.org")
    answers = set()
    with TestClient(create_app(public, session_factory=session_factory)) as raw:
        page = raw.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

        def forgot(email: str) -> None:
            r = raw.post("/forgot", data={"email": email, "csrf_token": csrf}, follow_redirects=False)
            assert r.status_code == 303
            answers.add((r.headers["location"], raw.get(r.headers["location"]).text.count("on its way")))

        for _ in range(5):
            forgot(e["email"].upper())          # the same address, however it is written
        assert len(inbox) == password_reset.PER_EMAIL == 3
        forgot("nobody@example.org")
        assert len(answers) == 1                # known, unknown or limited: one answer
    # Per client: many addresses from one client stop after PER_CLIENT requests.
    now = utcnow()
    other = expert(session)
    set_password(session, None, other["id"], "another password to forget")
    for n in range(4):
        assert password_reset.forgot_password(session, f"x{n}@example.org", "10.0.0.9", now=now,
                                              per_client=4) is None
    assert password_reset.forgot_password(session, other["email"], "10.0.0.9", now=now, per_client=4) is None
    assert password_reset.forgot_password(session, other["email"], "10.0.0.10", now=now, per_client=4) is not None
    # An hour later the address may ask again.
    later = now + timedelta(hours=1, seconds=1)
    assert password_reset.forgot_password(session, other["email"], "10.0.0.9", now=later, per_client=4) is not None
