"""The pieces behind the pages, without a browser: sanitising, signing, passwords, charts."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from expertloop.domain.errors import PermissionDenied, Unauthenticated, ValidationFailed
from expertloop.domain.policies import Actor, Role
from expertloop.services import auth, uow
from expertloop.services.experts import create_expert
from expertloop.services.tokens import issue_token
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.migrate import upgrade
from expertloop.web.auth import Signer
from expertloop.web.charts import bar_chart, burn_chart, nice_ceiling
from expertloop.web.common import safe_next
from expertloop.web.render import TAGS, markdown

from .helpers import XSS

ADMIN = Actor(role=Role.admin)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("payload", XSS)
def test_sanitiser_leaves_no_active_content(payload):
    parser = _Tags()
    parser.feed(str(markdown(payload)))
    for tag, attrs in parser.tags:
        assert tag in TAGS, (payload, tag)
        for name, value in attrs:
            assert name in ("href", "title", "align", "start", "target", "rel"), (payload, name)
            if name == "href":
                assert re.match(r"^(https?:|mailto:|[^:]*$)", value or ""), (payload, value)


def test_markdown_keeps_what_experts_need():
    html = str(markdown("**bold** _it_ `code`\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[ok](https://example.org)"))
    for tag in ("<strong>", "<em>", "<code>", "<ul>", "<table>", 'href="https://example.org"',
                'rel="noopener noreferrer nofollow"'):
        assert tag in html


def test_signed_values_resist_tampering_and_age():
    s = Signer(b"k" * 32)
    value = s.dumps("session", {"csrf": "abc", "iat": time.time(), "token_id": 3})
    assert s.loads("session", value, 60)["token_id"] == 3
    assert s.loads("flash", value, 60) is None                       # a purpose can't pose as another
    _payload, mac = value.split(".")
    forged = Signer(b"k" * 32).dumps("session", {"csrf": "abc", "iat": time.time(), "token_id": 1})
    assert s.loads("session", forged.split(".")[0] + "." + mac, 60) is None
    assert Signer(b"x" * 32).loads("session", value, 60) is None
    old = s.dumps("session", {"iat": time.time() - 100})
    assert s.loads("session", old, 60) is None
    assert s.loads("session", "garbage", 60) is None and s.loads("session", None, 60) is None


@pytest.mark.parametrize("url,expected", [("/work", "/work"), ("/tasks/3?x=1", "/tasks/3?x=1"),
                                          ("https://evil.example/", "/"), ("//evil.example", "/"),
                                          ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("", "/")])
def test_only_local_redirects_after_sign_in(url, expected):
    assert safe_next(url) == expected


def test_charts_are_svg_with_text_alternatives():
    svg = str(bar_chart(["2026-01-01", "2026-01-02"], [3, 0], title="Submissions <per> day"))
    assert svg.startswith("<svg") and "<title" in svg and "&lt;per&gt;" in svg and "<desc" in svg
    burn = str(burn_chart(["2026-01-01", "2026-01-02"], [100, 250], 1000, title="Burn", daily_rate_cents=150))
    assert "chart-budget" in burn and "chart-projection" in burn
    assert nice_ceiling(3, integer=True) == 4 and nice_ceiling(37, integer=True) == 40


@pytest.fixture()
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    engine = make_engine(url)
    upgrade(engine)
    session = make_sessionmaker(engine)()
    yield url, session
    session.close()
    engine.dispose()


def test_passwords_are_argon2_and_roles_come_from_tokens(db):
    _, session = db
    e = create_expert(session, ADMIN, {"name": "Ada", "email": "ada@example.org", "degree": "phd",
                                       "domains": {"math": 5}, "languages": ["en"], "hourly_rate_usd": "90.00"})
    with pytest.raises(ValidationFailed):
        auth.set_password(session, ADMIN, e["id"], "short")
    with pytest.raises(PermissionDenied):
        auth.set_password(session, Actor(role=Role.manager), e["id"], "a long enough password")
    auth.set_password(session, ADMIN, e["id"], "a long enough password")
    from expertloop.storage.orm import Expert

    with uow.read(session):
        stored = session.get(Expert, e["id"]).password_hash
    assert stored.startswith("$argon2id$") and "a long enough" not in stored
    actor, fingerprint = auth.sign_in_with_password(session, "ADA@example.org ", "a long enough password")
    assert actor == Actor(role=Role.trainer, expert_id=e["id"])
    for email, password in (("ada@example.org", "wrong password!"), ("nobody@example.org", "a long enough password")):
        with pytest.raises(Unauthenticated, match="wrong email or password"):
            auth.sign_in_with_password(session, email, password)
    issue_token(session, Role.reviewer, e["id"])
    assert auth.actor_for_expert(session, e["id"], fingerprint).role == Role.reviewer
    auth.set_password(session, None, e["id"], "another long password")   # a change ends old sessions
    with pytest.raises(Unauthenticated):
        auth.actor_for_expert(session, e["id"], fingerprint)
    assert auth.instance_secret(session) == auth.instance_secret(session) and len(auth.instance_secret(session)) == 32


def test_cli_sets_a_password_from_stdin(db, monkeypatch):
    url, session = db
    e = create_expert(session, ADMIN, {"name": "Bo", "email": "bo@example.org", "degree": "master",
                                       "domains": {}, "languages": ["en"], "hourly_rate_usd": "50.00"})
    from expertloop.cli.main import app

    monkeypatch.setenv("EXPERTLOOP_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["experts", "set-password", str(e["id"]), "--password-stdin"],
                                input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert auth.sign_in_with_password(session, "bo@example.org", "correct horse battery")[0].expert_id == e["id"]
    result = CliRunner().invoke(app, ["experts", "set-password", "999", "--password-stdin"],
                                input="whatever-long-enough\n")
    assert result.exit_code == 1 and "not found" in result.output


def test_a_task_types_own_key_binding_replaces_the_common_one_in_the_shortcut_list():
    """Trajectory and steps pages use j / k for steps: the list must not also promise questions."""
    from expertloop.web.common import templates

    env = templates.env
    macros = env.get_template("macros.html").module
    html = str(macros.shortcut_rows("trajectory", {}))
    assert "Next / previous step" in html and "Next / previous question" not in html
    assert "Next / previous question" in str(macros.shortcut_rows("label", {}))
