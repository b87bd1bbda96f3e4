"""Hostile item files through the console's upload (no browser needed): a located error page,
never a 500, and nothing stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from expertloop.services import uow
from expertloop.storage.orm import Item
from tests.factories import project, token


@pytest.fixture()
def manager_client(client, session):
    tok = token(session, "manager")
    page = client.get("/signin?tab=token")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/signin/token", data={"token": tok, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    page = client.get("/manage")  # signing in starts a new session with a new CSRF token
    client.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return client


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("latin1.jsonl", '{"text": "caf\u00e9"}\n'.encode("latin-1"), "not UTF-8"),
    ("deep.jsonl", b'{"text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n", "nested too deeply"),
    ("deep.json", b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    ("latin1.csv", "text\ncaf\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("nul.jsonl", b'{"text": "a\\u0000b"}\n', "NUL"),
    ("a\x00b.jsonl", b'{"text": "fine"}\n', None),
])
def test_hostile_item_files_are_refused_with_a_located_message(manager_client, session, name, content, expected):
    p = project(session, "label")
    r = manager_client.post(f"/manage/projects/{p['id']}/items", data={"csrf_token": manager_client.csrf},
                            files={"file": (name, content, "application/octet-stream")}, follow_redirects=False)
    assert r.status_code < 500, r.text[:500]
    if expected is None:  # an odd file name is made safe, the file itself is fine
        assert _items(session) == 1
        return
    assert r.status_code == 422, r.text[:500]
    assert expected in r.text
    assert _items(session) == 0


def _items(session) -> int:
    with uow.read(session):
        return session.execute(select(func.count()).select_from(Item)).scalar_one()
