"""``python -m segment_web.collector --plan``: each stored event flagged with what it
breaks, in the JSON API (with a filter), on the page, and from the command line."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from segment_web import Analytics
from segment_web.collector import Collector, EventStore
from segment_web.collector.violations import PlanFlags
from tests.collector.helpers import TIMEOUT, assert_refused, events, post, track
from tests.collector.test_cli import Running, run
from tests.plan.conftest import SHOP_PLAN, valid_order

__all__ = ["run"]  # the command-line fixture, used below


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Collector]:
    """A running collector that judges every message against the shop plan."""
    with Collector(tmp_path / "events.sqlite3", plan=PlanFlags(SHOP_PLAN)) as running:
        yield running


@pytest.fixture
def send(planned: Collector) -> Iterator[Callable[..., Analytics]]:
    clients: list[Analytics] = []

    def make() -> Analytics:
        client = Analytics("key", host=planned.url, flush_at=100, max_retries=0)
        client.flushed = True  # held until flush(), so flush() counts them all
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown(timeout=5)


def send_mixed(client: Analytics) -> None:
    client.track(user_id="u1", event="Order Completed", properties=valid_order())
    client.track(user_id="u1", event="Order Completed", properties=valid_order(revenue="12"))
    client.track(user_id="u1", event="Coupon Applied", properties={"code": "X"})
    client.identify(user_id="u1", traits={"plan": "gold"})
    client.page(user_id="u1", name="Home")
    assert client.flush(timeout=TIMEOUT) == 5


def test_the_json_api_flags_each_event_and_filters_on_violations(
    planned: Collector, send: Callable[..., Analytics]
) -> None:
    send_mixed(send())
    response = requests.get(planned.url + "/api/events", timeout=TIMEOUT).json()
    assert response["plan"]["name"] == "Acme Shop"
    assert response["plan"]["version"] == "3"
    by_label = {
        (event["type"], event["event_or_name"]): event["violations"] for event in response["events"]
    }
    assert by_label[("page", "Home")] == []
    assert by_label[("track", "Coupon Applied")] == [
        {
            "path": "event",
            "rule": "'Coupon Applied' is not an event of the tracking plan 'Acme Shop'",
        }
    ]
    assert by_label[("identify", None)] == [
        {"path": "traits.plan", "rule": "'gold' is not one of ['free', 'pro']"},
        {"path": "traits.email", "rule": "'email' is a required property"},
    ]
    completed = [e for e in response["events"] if e["event_or_name"] == "Order Completed"]
    assert [e["violations"] for e in completed] == [
        [{"path": "properties.revenue", "rule": "'12' is not of type 'number'"}],
        [],
    ]

    breaking = events(planned.url, violations="1")
    assert [(e["type"], e["event_or_name"]) for e in breaking] == [
        ("identify", None),
        ("track", "Coupon Applied"),
        ("track", "Order Completed"),
    ]
    following = events(planned.url, violations="0", type="track")
    assert [e["message"]["properties"]["revenue"] for e in following] == [9.5]
    assert_refused(
        requests.get(planned.url + "/api/events?violations=maybe", timeout=TIMEOUT),
        400,
        "violations must be 1",
    )
    deleted = requests.delete(planned.url + "/api/events?violations=1", timeout=TIMEOUT)
    assert deleted.json() == {"success": True, "deleted": 3}
    assert len(events(planned.url)) == 2


def test_without_a_plan_nothing_is_judged(tmp_path: Path) -> None:
    with Collector(tmp_path / "plain.sqlite3") as plain:
        assert post(plain.url, "/v1/track", track(event="Anything")).status_code == 200
        response = requests.get(plain.url + "/api/events", timeout=TIMEOUT).json()
        assert response["plan"] is None
        assert response["events"][0]["violations"] is None
        assert events(plain.url, violations="1") == []


def test_a_database_from_before_plans_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT"
            " NULL, write_key TEXT NOT NULL, type TEXT NOT NULL, event_or_name TEXT, user_id"
            " TEXT, anonymous_id TEXT, timestamp TEXT, message_id TEXT, message TEXT NOT NULL)"
        )
        old.execute(
            "INSERT INTO events (received_at, write_key, type, message) VALUES (?, ?, ?, ?)",
            ("2024-01-01T00:00:00.000Z", "k", "track", '{"type": "track", "event": "Old"}'),
        )
    old.close()
    with EventStore(path) as store:
        [event] = store.events()
        assert (event.message["event"], event.violations) == ("Old", None)
        store.add([track(event="New")], write_key="k", received_at="now", violations=[[]])
        assert [e.violations for e in store.events()] == [[], None]


def test_the_command_line_takes_a_plan(run: type[Running], tmp_path: Path) -> None:
    collector = run("--port", "0", "--db", str(tmp_path / "cli.sqlite3"), "--plan", str(SHOP_PLAN))
    url = collector.next_line().split()[4]
    assert "database:" in collector.next_line()
    assert collector.next_line().split() == ["plan:", "Acme", "Shop", "(3", "events)"]
    assert post(url, "/v1/track", track(event="Order Completed")).status_code == 200
    [flagged] = events(url, violations="1")
    assert [v["path"] for v in flagged["violations"]] == [
        "properties.order_id",
        "properties.revenue",
        "properties.currency",
    ]
    collector.process.terminate()
    code, stderr = collector.finish()
    assert code == 0, stderr
    assert "violates the plan: properties.order_id: 'order_id' is a required property" in stderr


def test_the_command_line_refuses_a_malformed_plan(run: type[Running], tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"Paid": {"properties": {"revenue": {"type": "numbr"}}}}')
    collector = run("--port", "0", "--db", str(tmp_path / "db.sqlite3"), "--plan", str(plan))
    code, stderr = collector.finish()
    assert code == 2
    assert stderr.startswith("error: --plan: plan.json: 'Paid'.properties.revenue.type:")


def test_unplanned_events_can_go_unflagged() -> None:
    unplanned = track(event="Coupon Applied")
    assert PlanFlags(SHOP_PLAN).flags(unplanned) != []
    assert PlanFlags(SHOP_PLAN, allow_unplanned_events=True).flags(unplanned) == []
