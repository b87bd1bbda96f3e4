"""The interactive API docs (/docs: Swagger UI, /redoc: ReDoc) load every script and style from
the server itself: they work on a machine with no internet access."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_other_sites(client, page):
    r = client.get(page)
    assert r.status_code == 200 and "openapi.json" in r.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text) + re.findall(r"url: '([^']+)'", r.text)
    assert assets, r.text
    for url in assets:
        assert not url.startswith(("http:", "https:", "//")), f"{page} loads {url} from another site"
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, (url, asset.status_code)
    assert not re.search(r"https?://(cdn|unpkg|fonts\.googleapis)", r.text), r.text
