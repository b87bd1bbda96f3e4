"""A filtered page of the item browser reads a bounded id range, however large the project, and
says where it stopped so the search can go on from there."""

from __future__ import annotations

from expertloop.services import items as items_svc
from expertloop.services.imports import import_items
from tests import factories as f


def test_a_rare_match_is_found_a_span_at_a_time(session, client, monkeypatch):
    monkeypatch.setattr(items_svc, "SCAN_SPAN", 5)
    p = f.project(session, "label", overlap=1)
    import_items(session, f.ADMIN, p["id"], [(k + 1, {"external_id": f"e{k}", "text": "needle" if k == 11 else "hay"})
                                             for k in range(12)])
    admin = f.auth(f.token(session, "admin"))
    seen, after, pages = [], 0, 0
    while True:
        page = client.get(f"/api/v1/projects/{p['id']}/items", headers=admin, params={"q": "needle", "after": after})
        assert page.status_code == 200
        body = page.json()
        seen += [i["external_id"] for i in body["items"]]
        pages += 1
        if body["next_after"] is None:
            break
        assert body["scanned_to"] == body["next_after"] and body["next_after"] > after
        after = body["next_after"]
    assert seen == ["e11"] and pages == 3  # items 1-5, 6-10, then the rest
    plain = client.get(f"/api/v1/projects/{p['id']}/items", headers=admin).json()
    assert len(plain["items"]) == 12 and plain["scanned_to"] is None and plain["next_after"] is None
