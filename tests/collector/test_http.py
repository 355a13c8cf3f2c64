"""The collector over real HTTP on 127.0.0.1, fed by the real client and by requests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from segment_web import Analytics, DeliveryError
from segment_web.collector import Collector
from segment_web.collector.intake import MAX_BODY_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TYPES

from .helpers import TIMEOUT, assert_refused, events, post, track

MakeClient = Callable[..., Analytics]


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
def test_messages_from_the_real_client_show_up_in_the_api(
    collector: Collector, make_client: MakeClient, gzip: bool
) -> None:
    # Held until flush(), so flush() counts all three (it counts what it waited for).
    client = make_client(write_key="wk-1", gzip=gzip, flush_at=100)
    client.flushed = True
    track_id = client.track(user_id=7, event="Signed Up", properties={"plan": "pro"})
    identify_id = client.identify(anonymous_id="anon-1", traits={"email": "a@example.com"})
    page_id = client.page(user_id="u-2", category="Docs", name="Install")
    assert client.flush(timeout=10) == 3

    page, identify, tracked = events(collector.url)  # newest first
    assert tracked["type"] == "track"
    assert tracked["event_or_name"] == "Signed Up"
    assert tracked["user_id"] == "7"
    assert tracked["anonymous_id"] is None
    assert tracked["write_key"] == "wk-1"
    assert tracked["message"]["messageId"] == track_id
    assert tracked["message"]["properties"] == {"plan": "pro"}
    assert tracked["timestamp"] == tracked["message"]["timestamp"]
    assert tracked["received_at"].endswith("Z")
    assert (identify["type"], identify["anonymous_id"], identify["user_id"]) == (
        "identify",
        "anon-1",
        None,
    )
    assert identify["message"]["messageId"] == identify_id
    assert identify["message"]["traits"] == {"email": "a@example.com"}
    assert (page["type"], page["event_or_name"], page["user_id"]) == ("page", "Install", "u-2")
    assert page["message"]["messageId"] == page_id
    assert [event.message["messageId"] for event in collector.events()] == [
        page_id,
        identify_id,
        track_id,
    ]


@pytest.mark.parametrize("kind", MESSAGE_TYPES)
@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
def test_single_message_endpoints_store_one_message_of_their_type(
    collector: Collector, kind: str, gzip: bool
) -> None:
    body = {
        "type": "track",  # the path decides
        "userId": "u-1",
        "event": "Clicked",
        "name": "Home",
        "groupId": "g-1",
        "previousId": "p-1",
        "messageId": f"m-{kind}",
    }
    response = post(collector.url, f"/v1/{kind}", body, gzip=gzip)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    (stored,) = collector.events()
    assert stored.type == kind
    assert stored.message["type"] == kind
    assert stored.message["messageId"] == f"m-{kind}"
    expected_label = {"track": "Clicked", "page": "Home", "screen": "Home"}.get(kind)
    assert stored.event_or_name == expected_label


def test_a_batch_is_stored_in_order_with_its_write_key(collector: Collector) -> None:
    batch = [track(event=f"E{i}") for i in range(5)]
    response = post(collector.url, "/v1/batch", {"batch": batch, "writeKey": "ignored"}, key="k2")
    assert response.status_code == 200
    stored = events(collector.url)
    assert [event["event_or_name"] for event in stored] == ["E4", "E3", "E2", "E1", "E0"]
    assert {event["write_key"] for event in stored} == {"k2"}


def test_no_auth_is_401_with_a_json_error(collector: Collector) -> None:
    response = post(collector.url, "/v1/batch", {"batch": [track()]}, key=None)
    assert_refused(response, 401, "basic auth")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert_refused(post(collector.url, "/v1/track", track(), key=""), 401, "empty write key")
    assert collector.events() == []


def test_with_a_write_key_set_only_that_key_is_accepted(
    db_path: Path, make_client: MakeClient
) -> None:
    with Collector(db_path.with_name("keyed.sqlite3"), write_key="secret") as keyed:
        assert_refused(
            post(keyed.url, "/v1/batch", {"batch": [track()]}, key="nope"), 401, "invalid"
        )
        assert_refused(post(keyed.url, "/v1/track", track(), key=None), 401, "basic auth")
        assert post(keyed.url, "/v1/track", track(), key="secret").status_code == 200

        client = Analytics("wrong", host=keyed.url, flush_at=1, max_retries=0)
        try:
            client.track(user_id="u", event="E")
            with pytest.raises(DeliveryError) as failed:
                client.flush(timeout=10)
            assert failed.value.status == 401
        finally:
            client.error_handler = lambda error: None
            client.shutdown(timeout=5)
        assert [event.write_key for event in keyed.events()] == ["secret"]


def assert_still_serving(collector: Collector, count: int) -> None:
    response = post(collector.url, "/v1/track", track(event=f"after {count}"))
    assert response.status_code == 200, response.text
    assert len(collector.events()) == count


def big_message(size: int) -> dict[str, Any]:
    return track(properties={"blob": "x" * size})


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
def test_malformed_and_oversized_requests_are_400_and_serving_goes_on(
    collector: Collector, gzip: bool
) -> None:
    url = collector.url
    over_body = {"batch": [big_message(30_000) for _ in range(18)]}  # ~540 KB, each < 32 KB
    assert len(json.dumps(over_body)) > MAX_BODY_BYTES
    cases: list[tuple[Any, str]] = [
        (b'{"batch": [', "malformed JSON"),
        (b'{"batch": [{"type": "track", "userId": "u", "event": NaN}]}', "malformed JSON"),
        ({"batch": {"type": "track"}}, '"batch" must be a list'),
        ({"batch": [track(), big_message(MAX_MESSAGE_BYTES)]}, "batch[1]: message is"),
        (over_body, "limit"),
    ]
    for number, (body, words) in enumerate(cases, start=1):
        assert_refused(post(url, "/v1/batch", body, gzip=gzip), 400, words)
        assert_still_serving(collector, number)
    assert_refused(post(url, "/v1/page", big_message(MAX_MESSAGE_BYTES), gzip=gzip), 400, "bytes")
    assert_refused(post(url, "/v1/batch", b"{}", headers={"Content-Encoding": "br"}), 400, "br")
    assert_still_serving(collector, len(cases) + 1)


def test_a_huge_body_is_refused_without_reading_it_all(collector: Collector) -> None:
    with requests.Session() as session:
        response = session.post(
            collector.url + "/v1/batch",
            data=b" " * (3 * MAX_BODY_BYTES),
            auth=("key", ""),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        assert_refused(response, 400, "limit")
        # The same kept-alive connection still works: the unread body was drained.
        ok = session.post(
            collector.url + "/v1/track", json=track(), auth=("key", ""), timeout=TIMEOUT
        )
        assert ok.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe\xfd",
        b'{"batch": [null]}',
        b'{"batch": [{"type": ["track"]}]}',
        b'{"batch": [{"type": "track", "userId": "u", "event": "e", "context": "x"}]}',
        b'{"batch": [{"type": "track", "userId": "u", "event": 1e999}]}',
        b"[" * 50_000,
    ],
)
def test_bad_input_never_gets_a_5xx(collector: Collector, body: bytes) -> None:
    response = post(collector.url, "/v1/batch", body)
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False
    assert_still_serving(collector, 1)


def test_odd_but_valid_text_is_stored_and_served_as_strict_json(collector: Collector) -> None:
    body = b'{"batch": [{"type": "track", "userId": "\\ud800lone", "event": "caf\\u00e9 \\u2603"}]}'
    assert post(collector.url, "/v1/batch", body).status_code == 200
    response = requests.get(collector.url + "/api/events", timeout=TIMEOUT)

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in the API output")

    (stored,) = json.loads(response.text, parse_constant=no_constants)["events"]
    assert stored["event_or_name"] == "café ☃"
    assert stored["message"]["userId"] == "\ud800lone"


def test_other_paths_and_methods_get_json_errors(collector: Collector) -> None:
    url = collector.url
    missing = requests.get(url + "/v1/nothing", timeout=TIMEOUT)
    assert_refused(missing, 404, "no such endpoint")
    wrong_method = requests.get(url + "/v1/batch", timeout=TIMEOUT)
    assert_refused(wrong_method, 405, "GET is not allowed")
    assert wrong_method.headers["Allow"] == "POST"
    assert_refused(requests.put(url + "/v1/batch", data=b"{}", timeout=TIMEOUT), 405, "PUT")
    assert_refused(requests.post(url + "/api/events", timeout=TIMEOUT), 405, "POST")


def raw_exchange(collector: Collector, request: bytes) -> bytes:
    """Send ``request`` bytes on a fresh connection; the answer until the server closes."""
    answer = b""
    with socket.create_connection(("127.0.0.1", collector.port), timeout=TIMEOUT) as raw:
        raw.sendall(request)
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


AUTH_JSON = b"Authorization: Basic a2V5Og==\r\nContent-Type: application/json\r\n"
INVALID = b"Invalid HTTP request received."  # uvicorn's own answer to unparsable HTTP


@pytest.mark.parametrize(
    ("request_bytes", "status", "words"),
    [
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"400", INVALID),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400", INVALID),
        (b"\x16\x03\x01 garbage\r\n\r\n", b"400", INVALID),
        (b"GET / HTTP/1.1x\r\n\r\n", b"400", INVALID),
        (
            b"BREW /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            b"405",
            b'"BREW is not allowed here"',
        ),
        (
            b"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + AUTH_JSON
            + b"Connection: close\r\n\r\n",
            b"411",
            b'"Content-Length required"',
        ),
    ],
)
def test_broken_http_is_answered_and_serving_goes_on(
    collector: Collector, request_bytes: bytes, status: bytes, words: bytes
) -> None:
    answer = raw_exchange(collector, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    assert words in answer, answer
    assert_still_serving(collector, 1)


def test_a_body_cut_short_stores_nothing_and_serving_goes_on(collector: Collector) -> None:
    request = (
        b"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + AUTH_JSON
        + b"Content-Length: 100\r\n\r\n"
        + json.dumps(track()).encode()[:20]
    )
    with socket.create_connection(("127.0.0.1", collector.port), timeout=TIMEOUT) as raw:
        raw.sendall(request)
        raw.shutdown(socket.SHUT_WR)  # the client gives up half-way through its body
        while raw.recv(65536):  # the server ends the connection (bounded by TIMEOUT)
            pass
    assert collector.events() == []
    assert_still_serving(collector, 1)


def test_events_survive_a_restart(db_path: Path, make_client: MakeClient) -> None:
    with Collector(db_path) as first:
        client = Analytics("key", host=first.url, flush_at=1, max_retries=0)
        message_id = client.track(user_id="u", event="Before Restart")
        client.flush(timeout=10)
        client.shutdown(timeout=5)
    with Collector(db_path) as second:
        assert post(second.url, "/v1/track", track(event="After Restart")).status_code == 200
        stored = events(second.url)
        assert [event["event_or_name"] for event in stored] == ["After Restart", "Before Restart"]
        assert stored[1]["message"]["messageId"] == message_id
        assert stored[0]["id"] > stored[1]["id"]


FILTER_BATCH = [
    track(user="alice", event="A1"),
    {"type": "identify", "userId": "bob", "anonymousId": "anon-b"},
    {"type": "page", "anonymousId": "alice", "name": "Home"},  # alice as an anonymousId
    track(user="bob", event="B1"),
    track(user="alice", event="A2 100%_done"),
]


def labels(url: str, **params: Any) -> list[str | None]:
    return [event["event_or_name"] for event in events(url, **params)]


def test_filters_limit_and_order_of_the_api(collector: Collector) -> None:
    assert post(collector.url, "/v1/batch", {"batch": FILTER_BATCH}).status_code == 200
    url = collector.url
    a2 = "A2 100%_done"

    assert labels(url) == [a2, "B1", "Home", None, "A1"]
    assert labels(url, type="track") == [a2, "B1", "A1"]
    assert labels(url, user="alice") == [a2, "Home", "A1"]
    assert labels(url, user="anon-b") == [None]
    assert labels(url, type="track", user="alice") == [a2, "A1"]
    assert labels(url, limit=2) == [a2, "B1"]
    assert labels(url, type="", user="", event="", limit="") == labels(url)
    assert labels(url, user="nobody") == []
    # user and event match a part of the text, ignoring case; % and _ are plain text.
    assert labels(url, user="LIC") == [a2, "Home", "A1"]
    assert labels(url, user="b") == ["B1", None]
    assert labels(url, event="a") == [a2, "A1"]
    assert labels(url, event="ho") == ["Home"]
    assert labels(url, event="0%_d") == [a2]
    assert labels(url, event="%") == [a2]
    assert labels(url, event="_") == [a2]
    assert labels(url, event="a", user="b") == []
    assert [event.event_or_name for event in collector.events(user="lic", event="a1")] == ["A1"]
    body = requests.get(
        url + "/api/events", params={"type": "track", "limit": 1}, timeout=10
    ).json()
    assert (len(body["events"]), body["total"]) == (1, 3)
    for params, words in [
        ({"limit": "0"}, "limit must be a positive integer"),
        ({"limit": "lots"}, "limit must be a positive integer"),
        ({"type": "click"}, "type must be one of"),
    ]:
        response = requests.get(url + "/api/events", params=params, timeout=TIMEOUT)
        assert_refused(response, 400, words)


def test_delete_honours_the_same_filters(collector: Collector) -> None:
    assert post(collector.url, "/v1/batch", {"batch": FILTER_BATCH}).status_code == 200
    url = collector.url

    def delete(**params: Any) -> requests.Response:
        return requests.delete(url + "/api/events", params=params, timeout=TIMEOUT)

    assert_refused(delete(type="click"), 400, "type must be one of")
    assert_refused(delete(limit="1"), 400, "limit does not apply to DELETE")
    assert len(labels(url)) == 5
    assert delete(type="track", user="alice").json() == {"success": True, "deleted": 2}
    assert labels(url) == ["B1", "Home", None]
    assert delete(event="hom").json() == {"success": True, "deleted": 1}
    assert delete(user="nobody").json() == {"success": True, "deleted": 0}
    assert labels(url) == ["B1", None]
    assert delete().json() == {"success": True, "deleted": 2}
    assert labels(url) == []


def test_limit_defaults_to_100_and_is_capped_at_1000(collector: Collector) -> None:
    collector.store.add(
        [track(event=f"E{i}") for i in range(1005)],
        write_key="k",
        received_at="2024-01-01T00:00:00.000Z",
    )
    assert len(events(collector.url)) == 100
    capped = events(collector.url, limit=5000)
    assert len(capped) == 1000
    assert capped[0]["event_or_name"] == "E1004"
    assert len(collector.events(limit=5000)) == 1000


def test_delete_clears_the_events(collector: Collector) -> None:
    post(collector.url, "/v1/track", track())
    response = requests.delete(collector.url + "/api/events", timeout=TIMEOUT)
    assert response.json() == {"success": True, "deleted": 1}
    assert events(collector.url) == []


def test_concurrent_senders_lose_nothing(collector: Collector) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def send(sender: int) -> None:
        with requests.Session() as session:
            for number in range(20):
                response = session.post(
                    collector.url + "/v1/batch",
                    json={"batch": [track(user=f"s{sender}", event=f"E{number}")]},
                    auth=("key", ""),
                    timeout=TIMEOUT,
                )
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(sender,)) for sender in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 160
    assert len(collector.events(limit=1000)) == 160
    assert len(collector.events(user="s3", limit=1000)) == 20


def test_the_page_is_self_contained_html(collector: Collector) -> None:
    response = requests.get(collector.url + "/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    html = response.text
    assert "<table" in html and "/api/events" in html
    assert "http://" not in html and "https://" not in html and "src=" not in html


def test_stop_ends_kept_alive_connections_and_is_idempotent(db_path: Path) -> None:
    collector = Collector(db_path).start()
    url = collector.url
    with requests.Session() as session:
        first = session.post(url + "/v1/track", json=track(), auth=("key", ""), timeout=TIMEOUT)
        assert first.status_code == 200
        collector.stop()
        collector.stop()
        with pytest.raises(requests.ConnectionError):
            session.post(url + "/v1/track", json=track(), auth=("key", ""), timeout=TIMEOUT)
    with pytest.raises(RuntimeError, match="not open"):
        collector.events()


def count_by_type(url: str, **params: Any) -> dict[str, int]:
    """The documented example (docs/collector.md): page through every event by cursor."""
    counts: dict[str, int] = {}
    query: dict[str, Any] = {"limit": 1000, **params}
    for _ in range(1000):  # bounded: at most a million events
        body = requests.get(url + "/api/events", params=query, timeout=TIMEOUT).json()
        for event in body["events"]:
            counts[event["type"]] = counts.get(event["type"], 0) + 1
        if body["next"] is None:
            return counts
        query["cursor"] = body["next"]
    raise AssertionError("paging did not end")


def test_a_cursor_pages_through_every_event_once(collector: Collector) -> None:
    kinds = ["track", "page", "identify"]
    collector.store.add(
        [
            {"type": kinds[n % 3], "userId": "u", "event": f"E{n}", "name": f"E{n}"}
            for n in range(1114)
        ],
        write_key="k",
        received_at="2024-01-01T00:00:00.000Z",
    )
    assert count_by_type(collector.url) == {"track": 372, "page": 371, "identify": 371}
    assert count_by_type(collector.url, type="page") == {"page": 371}

    seen: list[int] = []
    params: dict[str, Any] = {"type": "track", "limit": 100}
    pages = 0
    while pages < 10:
        body = requests.get(collector.url + "/api/events", params=params, timeout=TIMEOUT).json()
        pages += 1
        assert body["total"] == 372 + (1 if pages > 1 else 0)  # total counts every match
        seen += [event["id"] for event in body["events"]]
        if pages == 1:
            # A new event arriving meanwhile shifts no page: it is newer than the cursor.
            post(collector.url, "/v1/track", track(event="Late"))
        if body["next"] is None:
            break
        assert isinstance(body["next"], str)
        params["cursor"] = body["next"]
    assert pages == 4
    assert len(seen) == len(set(seen)) == 372
    assert seen == sorted(seen, reverse=True)
    # Without a cursor (or with an empty one) the first page, as before.
    first = events(collector.url, type="track", limit=2, cursor="")
    assert [event["event_or_name"] for event in first] == ["Late", "E1113"]


@pytest.mark.parametrize("cursor", ["abc", "-5", "0", "1.5", "\uff19", "9" * 40])
def test_a_malformed_cursor_is_400(collector: Collector, cursor: str) -> None:
    response = requests.get(
        collector.url + "/api/events", params={"cursor": cursor}, timeout=TIMEOUT
    )
    assert_refused(response, 400, 'cursor must be the "next" value of an earlier answer')


def test_the_last_page_has_no_next_and_delete_takes_no_cursor(collector: Collector) -> None:
    post(collector.url, "/v1/batch", {"batch": [track(event="A"), track(event="B")]})
    body = requests.get(collector.url + "/api/events", params={"limit": 2}, timeout=TIMEOUT).json()
    assert ([event["event_or_name"] for event in body["events"]], body["next"]) == (
        ["B", "A"],
        None,
    )
    one = requests.get(collector.url + "/api/events", params={"limit": 1}, timeout=TIMEOUT).json()
    rest = requests.get(
        collector.url + "/api/events", params={"limit": 1, "cursor": one["next"]}, timeout=TIMEOUT
    ).json()
    assert [event["event_or_name"] for event in rest["events"]] == ["A"]
    assert rest["next"] is None
    response = requests.delete(
        collector.url + "/api/events", params={"cursor": "1"}, timeout=TIMEOUT
    )
    assert_refused(response, 400, "cursor does not apply to DELETE")
