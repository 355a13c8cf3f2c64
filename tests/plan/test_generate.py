"""The generator: stable output that passes ruff and mypy --strict, and functions that
send events the plan accepts."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import segment_web
from segment_web import api as module_api
from segment_web.plan import TrackingPlan
from segment_web.plan.generate import generate_module
from tests.plan.conftest import SHOP_PLAN
from tests.plan.generated import PLANS, import_module, write_modules
from tests.support.client_helpers import MakeClient
from tests.support.recording_server import RecordingServer

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_modules(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="module")
def shop_events(generated: dict[str, Path]) -> ModuleType:
    return import_module(generated["shop_events"])


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_output_is_stable_and_names_the_plan(generated: dict[str, Path]) -> None:
    source = generated["shop_events"].read_text()
    again = generate_module(TrackingPlan.load(SHOP_PLAN), SHOP_PLAN.name)
    assert again == source
    header = source.split('"""')[1]
    assert "tracking plan 'Acme Shop', version 3" in header
    digest = TrackingPlan.load(SHOP_PLAN).digest
    assert f"Generated from shop_plan.json (sha256 {digest})" in header


def test_the_command_line_writes_the_module(tmp_path: Path, generated: dict[str, Path]) -> None:
    target = tmp_path / "analytics_events.py"
    result = run(sys.executable, "-m", "segment_web.plan", "generate", SHOP_PLAN, "-o", target)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == generated["shop_events"].read_text()
    listed = run(sys.executable, "-m", "segment_web.plan", "check", SHOP_PLAN)
    assert listed.stdout.splitlines()[0] == "Acme Shop: 3 event(s)"


def test_the_command_line_names_a_malformed_rule(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"Paid": {"properties": {"revenue": {"type": "numbr"}}}}')
    result = run(sys.executable, "-m", "segment_web.plan", "generate", plan)
    assert result.returncode == 2
    assert "error: plan.json: 'Paid'.properties.revenue.type:" in result.stderr
    assert result.stdout == ""


def test_the_signatures(shop_events: ModuleType) -> None:
    source = Path(shop_events.__file__ or "").read_text()
    assert (
        "    order_id: str,\n    revenue: float,\n    currency: OrderCompletedCurrency,\n" in source
    )
    assert "    coupon: str | None = None,\n" in source
    assert "    products: list[OrderCompletedProductsItem] | None = None,\n" in source
    assert 'OrderCompletedCurrency = Literal["EUR", "USD", "GBP"]' in source
    assert (
        "class OrderCompletedProductsItem(_OrderCompletedProductsItemRequired, total=False):"
        in (source)
    )
    # The property named like the call's own keyword gets a name of its own.
    assert "    timestamp_: str | None = None,\n" in source
    assert "def identify(\n    *,\n    email: str,\n" in source
    assert "A customer paid for an order \\u2013 the checkout's last step." in source


@pytest.mark.parametrize("config", ["isolated", "project"])
def test_the_output_passes_ruff(generated: dict[str, Path], config: str) -> None:
    # The project's rules at line length 100, and ruff's defaults (88) as most users have.
    options = ["--isolated"] if config == "isolated" else ["--config", ROOT / "pyproject.toml"]
    files = list(generated.values())
    checked = run(sys.executable, "-m", "ruff", "check", *options, *files)
    assert checked.returncode == 0, checked.stdout
    formatted = run(sys.executable, "-m", "ruff", "format", "--check", *options, *files)
    assert formatted.returncode == 0, formatted.stdout


USE = """
from __future__ import annotations

import datetime as dt

from segment_web import Analytics
from shop_events import identify, order_completed, product_viewed
from odd_events import order_completed as odd_order

client = Analytics("key", enable=False)
message_id: str = order_completed(
    order_id="o1",
    revenue=9.5,
    currency="EUR",
    products=[{"sku": "s1", "quantity": 2}],
    shipping={"method": "express", "address": {"city": "Lyon"}},
    user_id="u1",
    timestamp=dt.datetime(2024, 1, 1),
    client=client,
)
product_viewed(product_id="p1", tags=["a"], anonymous_id="a1")
identify(email="a@b.c", plan="pro", user_id=7)
odd_order(class_="c", user_id_="u", price={"amount": 1.0, "currency": "EUR"}, code=3)
"""

MISUSE = """
from __future__ import annotations

from shop_events import identify, order_completed

order_completed(order_id="o1", revenue="12", currency="EUR")
order_completed(order_id="o1", revenue=1.0, currency="JPY")
order_completed(revenue=1.0, currency="EUR")
order_completed(order_id="o1", revenue=1.0, currency="EUR", products=[{"sku": "s1"}])
order_completed(order_id="o1", revenue=1.0, currency="EUR", colour="red")
identify(email="a@b.c", plan="enterprise")
"""


@pytest.mark.slow
def test_the_output_type_checks_strictly_and_catches_wrong_calls(
    generated: dict[str, Path],
) -> None:
    folder = generated["shop_events"].parent
    (folder / "use.py").write_text(USE)
    (folder / "misuse.py").write_text(MISUSE)
    result = run(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--cache-dir",
        folder / ".mypy_cache",
        *[f"{name}.py" for name in PLANS],
        "use.py",
        "misuse.py",
        cwd=folder,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith("misuse.py:") for line in errors), result.stdout
    lines = {int(line.split(":")[1]) for line in errors}
    assert lines == {6, 7, 8, 9, 10, 11}, result.stdout
    text = result.stdout
    assert re.search(r'Argument "revenue" to "order_completed" has incompatible type "str"', text)
    assert 'Missing named argument "order_id"' in text
    assert '"colour"' in text
    assert '"quantity"' in text  # the TypedDict's required key


def test_generated_functions_send_events_that_follow_the_plan(
    shop_events: ModuleType,
    make_client: MakeClient,
    server: RecordingServer,
    shop_plan: TrackingPlan,
) -> None:
    client = make_client(tracking_plan=shop_plan, plan_mode="raise")
    shop_events.order_completed(
        order_id="o1",
        revenue=9.5,
        currency="EUR",
        products=[{"sku": "s1", "quantity": 2}],
        shipping={"method": "express", "address": {"city": "Lyon", "postal-code": "69001"}},
        user_id="u1",
        client=client,
    )
    shop_events.product_viewed(
        product_id="p1", timestamp_="2024-05-17T09:30:00Z", user_id="u1", client=client
    )
    shop_events.signed_out(anonymous_id="a1", client=client)
    shop_events.identify(email="a@b.c", plan="pro", user_id="u1", client=client)
    assert client.flush(timeout=10) == 4
    order, viewed, signed_out, identify = server.messages
    assert order["event"] == "Order Completed"
    assert order["properties"] == {
        "order_id": "o1",
        "revenue": 9.5,
        "currency": "EUR",
        "products": [{"sku": "s1", "quantity": 2}],
        "shipping": {"method": "express", "address": {"city": "Lyon", "postal-code": "69001"}},
    }
    assert viewed["properties"] == {"productId": "p1", "timestamp": "2024-05-17T09:30:00Z"}
    assert (signed_out["event"], signed_out["properties"]) == ("Signed Out", {})
    assert (identify["type"], identify["traits"]) == ("identify", {"email": "a@b.c", "plan": "pro"})
    assert all(shop_plan.check(message) == [] for message in server.messages)


def test_generated_functions_use_the_configured_client(
    shop_events: ModuleType, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module_api, "_default", None)  # restored after the test
    client = segment_web.configure("generated-key", host=server.url, flush_at=1)
    try:
        shop_events.signed_out(user_id="u2")
        assert client.flush(timeout=10) == 1
    finally:
        client.shutdown(timeout=5)
    assert server.messages[0]["userId"] == "u2"


def test_odd_names_keep_their_wire_keys(
    generated: dict[str, Path], make_client: MakeClient, server: RecordingServer
) -> None:
    odd_events = import_module(generated["odd_events"])
    client = make_client(tracking_plan=PLANS["odd_events"], plan_mode="raise")
    odd_events.order_completed(
        class_="c",
        user_id_="property-user",
        price={"amount": 1.5, "currency": "EUR"},
        l_=1,
        order_id="camel",
        order_id_="snake",
        address={"postal-code": "69001", "city": "Lyon"},
        tier="gold",
        region="europe-west",
        user_id="caller",
        client=client,
    )
    odd_events.cafe_visited(naive=True, user_id="caller", client=client)
    assert client.flush(timeout=10) == 2
    order, cafe = server.messages
    assert order["userId"] == "caller"
    assert order["properties"] == {
        "class": "c",
        "user_id": "property-user",
        "price": {"amount": 1.5, "currency": "EUR"},
        "l": 1,
        "orderId": "camel",
        "order_id": "snake",
        "address": {"postal-code": "69001", "city": "Lyon"},
        "tier": "gold",
        "region": "europe-west",
    }
    assert (cafe["event"], cafe["properties"]) == ("Café Visited", {"naïve": True})


LONG_EVENT = (
    "A very long event name that somebody wrote as a whole sentence describing exactly "
    "when it is sent to Segment"
)
LONG_PROPERTY = (
    "a property name that is also far too long to fit on one line as a Python parameter name at all"
)


def test_a_hostile_plan_gives_a_module_that_imports_and_keeps_every_wire_name(
    generated: dict[str, Path], make_client: MakeClient, server: RecordingServer
) -> None:
    source = generated["hostile_events"].read_text()
    # no control character in the source (NUL cannot even be imported); shown escaped
    assert not [c for c in source if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert source.isascii()
    assert "Control characters: NUL \\\\x00, ESC \\\\x1b[31m, DEL \\\\x7f" in source
    assert max(len(line) for line in source.splitlines()) <= 100
    # the module's own names stay what they were imported as
    assert "from segment_web import Analytics, Batch, RequestAnalytics\n" in source
    assert "class RequestAnalytics(" not in source and "\ndef annotations(" not in source
    hostile = import_module(generated["hostile_events"])
    assert hostile.RequestAnalytics is segment_web.RequestAnalytics
    assert hostile.Analytics is segment_web.Analytics

    client = make_client(tracking_plan=PLANS["hostile_events"], plan_mode="raise")
    hostile.request(
        analytics={"str": "s", "Any": 1},
        str_="text",
        dict_=3,
        segment_web_="sw",
        a_b_c="x\x00y",
        user_id="u1",
        client=client,
    )
    long_function = next(name for name in vars(hostile) if name.startswith("a_very_long_event"))
    long_param = next(
        name for name in inspect.signature(getattr(hostile, long_function)).parameters
        if name.startswith("a_property_name")
    )  # fmt: skip
    assert len(long_function) <= 30 and len(long_param) <= 30
    getattr(hostile, long_function)(
        **{long_param: {}}, a_short_one="x" * 150, user_id="u1", client=client
    )
    hostile.null_event(user_id="u1", client=client)
    assert client.flush(timeout=10) == 3
    request, long_event, null_event = server.messages
    assert request["event"] == "Request"
    assert request["properties"] == {
        "analytics": {"str": "s", "Any": 1},
        "str": "text",
        "dict": 3,
        "segment_web": "sw",
        "a\x00b\x1bc": "x\x00y",
    }
    assert long_event["event"] == LONG_EVENT
    assert long_event["properties"] == {LONG_PROPERTY: {}, "a short one": "x" * 150}
    assert null_event["event"] == "Null\x00Event\x1b"
