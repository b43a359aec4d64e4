"""/v2/info/* endpoints."""

from __future__ import annotations


def test_import_info_lists_the_enabled_methods(api, conf):
    resp = api.get("/v2/info/import")
    assert resp.status_int == 200
    assert resp.json == {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": ["glance-direct", "web-download", "copy-image"],
        }
    }
    conf.set_override("enabled_import_methods", ["web-download"])
    assert api.get("/v2/info/import").json["import-methods"]["value"] == ["web-download"]


def test_stores_info_is_404_in_single_store_mode(api):
    resp = api.get("/v2/info/stores")
    assert resp.status_int == 404
    assert "Multi backend is not supported at this site." in resp.text


def test_usage_counts_the_callers_project(api, conf):
    conf.set_override("user_storage_quota", "10MB")
    owner = api.as_("p1")
    image = owner.create(name="u")
    assert owner.put_file(image["id"], b"x" * (3 * 1024 * 1024 + 1)).status_int == 204
    owner.create(name="empty")
    api.create(name="other", owner="p2")
    usage = owner.get("/v2/info/usage").json["usage"]
    assert usage["image_size_total"] == {"limit": 10, "usage": 4}
    assert usage["image_count_total"] == {"limit": -1, "usage": 2}


def test_info_routes_refuse_bodies_and_other_methods(api):
    assert api.get("/v2/info/usage", raw=b"x").status_int == 400
    resp = api.post("/v2/info/import")
    assert resp.status_int == 405 and resp.headers["Allow"] == "GET"
