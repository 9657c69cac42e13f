"""The API docs work on an intranet: Swagger UI and ReDoc are served by the system itself, and
every operation is described in Chinese."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def _local_assets(html: str) -> list[str]:
    assets = ASSET.findall(html)
    assert assets, "the page loads no assets?"
    return assets


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_page_loads_nothing_from_another_host(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    for asset in _local_assets(html):
        assert asset.startswith("/"), asset
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/").split("?")[0]), f"{asset} is not shipped"


def test_the_swagger_init_script_is_served_locally_too(client):
    html = client.get("/api/docs/").content.decode()
    scripts = [a for a in _local_assets(html) if "script" in a and not a.startswith("/static/")]
    for src in scripts:
        response = client.get(src.replace("&amp;", "&"))
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"https://" not in body and b"http://" not in body


def test_every_operation_has_a_chinese_summary_and_description(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    english = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for key in ("summary", "description"):
                if not CJK.search(operation.get(key) or ""):
                    english.append(f"{method.upper()} {path} {key}: {operation.get(key)!r}")
            for code, response in operation["responses"].items():
                if code >= "400" and not CJK.search(response.get("description", "")):
                    english.append(f"{method.upper()} {path} {code}: {response.get('description')!r}")
    assert english == []
    assert all(CJK.search(tag["description"]) for tag in schema["tags"])
