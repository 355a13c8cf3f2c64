"""The example shops through their frameworks' test clients, with the
``segment_events`` fixture (docs/testing.md): what each app sends, without any network."""

from __future__ import annotations

from starlette.testclient import TestClient

from example_projects.fastapi_shop.app import create_app as create_fastapi_app
from example_projects.flask_shop.app import create_app as create_flask_app
from segment_web.testing import CapturedEvents


def test_flask_shop_sends_pages_identify_and_tracks(segment_events: CapturedEvents) -> None:
    client = create_flask_app().test_client()
    client.set_cookie("ajs_anonymous_id", "visitor-9")
    assert client.get("/products/1").status_code == 200
    assert client.post("/api/signup", json={"email": "ada@example.com"}).status_code == 200
    assert client.post("/api/cart", json={"product": "3"}).status_code == 200
    page, identify, signed_up, added = segment_events
    assert (page["type"], page["name"], page["anonymousId"]) == ("page", "product", "visitor-9")
    assert identify["userId"] == "ada@example.com" and identify["traits"]["plan"] == "free"
    assert signed_up["event"] == "Signed Up"
    assert added["userId"] == "ada@example.com"  # the session's user, read per request
    assert added["properties"] == {"product_id": "3", "name": "Burr grinder", "price": 129.0}


def test_fastapi_shop_reads_the_user_from_authentication(segment_events: CapturedEvents) -> None:
    with TestClient(create_fastapi_app()) as client:
        assert client.get("/").status_code == 200
        assert client.post("/api/signup", json={"email": "bo@example.com"}).status_code == 200
        assert client.post("/api/cart", json={"product": "2"}).status_code == 200
        assert client.get("/products/404").status_code == 404
    home, identify, signed_up, added = segment_events
    assert home["type"] == "page" and "userId" not in home
    assert identify["userId"] == "bo@example.com"
    assert added["userId"] == "bo@example.com"  # scope["user"] from the session cookie
    assert added["anonymousId"] == home["anonymousId"]  # the cookie the middleware set
    assert signed_up["context"]["page"]["path"] == "/api/signup"
