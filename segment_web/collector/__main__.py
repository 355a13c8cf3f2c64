"""``python -m segment_web.collector``: run the collector until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sqlite3
import sys
from collections.abc import Sequence
from types import FrameType

from segment_web.collector.extra import missing_extra
from segment_web.collector.hints import install_command, python_command

EXIT_USAGE = 2

API_HELP = """\
tracking API (what clients send):
  POST /v1/batch, /v1/{identify,track,page,screen,group,alias}
      Content-Type: application/json (optionally Content-Encoding: gzip); HTTP basic
      auth with the write key as user name; 32 KB per message, 500 KB per request.
      Answers {"success": true} or a 4xx {"success": false, "message": ...}.

JSON API (what the page uses):
  GET    /api/events?type=&event=&user=&limit=&cursor=
      stored events, newest first: {"events": [...], "total": N, "next": C}. type
      is exact; event (event or page name) and user (userId or anonymousId) match
      when they contain the text; limit is 100 by default, at most 1000. The next
      page: the same query with cursor=C; "next" is null on the last page.
      With --plan: each event lists its "violations" (path and rule), "plan" names
      the plan, and violations=1 keeps the events that break it (violations=0: the
      others), here and in DELETE.
  DELETE /api/events?type=&event=&user=
      deletes the events those filters select (every event without filters):
      {"success": true, "deleted": N}.

Only requests whose Host header is localhost, an IP address or an --allow-host name
are answered, so web pages cannot reach the collector through DNS rebinding.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, serve, and return the exit code (0 on Ctrl-C, 2 when it cannot start)."""
    args = _parser().parse_args(argv)
    missing = missing_extra()
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_USAGE
    from segment_web.collector.app import Collector

    plan = None
    if args.plan is not None:
        try:
            from segment_web.collector.violations import PlanFlags

            plan = PlanFlags(args.plan, allow_unplanned_events=args.allow_unplanned_events)
        except (ImportError, ValueError) as error:  # no [plan] extra; a malformed plan
            print(f"error: --plan: {error}", file=sys.stderr)
            return EXIT_USAGE
    if not args.quiet:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
        )
    try:
        collector = Collector(
            args.db,
            host=args.host,
            port=args.port,
            write_key=args.write_key,
            allowed_hosts=args.allow_host,
            plan=plan,
            latency_ms=args.latency,
            fail_rate=args.fail_rate,
            fail_status=args.fail_status,
            retry_after=args.retry_after,
            fail_seed=args.fail_seed,
        )
    except ValueError as error:  # a fault option out of range, named as its flag
        print(f"error: {_flag_names(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    try:
        collector.open()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            message = (
                f"port {args.port} on {args.host} is already in use; "
                "stop the other server or pick another with --port"
            )
        elif isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            message = f"cannot listen on {args.host}: {error.strerror or error}"
        else:
            message = f"cannot start the collector: {error}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as error:
        print(f"error: cannot use the database {collector.db_path}: {error}", file=sys.stderr)
        return EXIT_USAGE

    # `kill` stops it as cleanly as Ctrl-C; and Ctrl-C works even when started as a
    # background job, which inherits SIGINT ignored (Python then installs no handler).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    key_note = f"only write key {args.write_key!r}" if args.write_key else "any write key"
    client_key = args.write_key or "any-key"
    print(f"segment_web collector listening on {collector.url}  ({key_note})", flush=True)
    print(f"  database: {collector.db_path}", flush=True)
    if plan is not None:
        print(f"  plan:     {plan.plan.name} ({len(plan.plan.events)} events)", flush=True)
    if collector.faults.active():
        print(f"  faults:   {collector.faults.summary()}", flush=True)
    print(f"  client:   Analytics({client_key!r}, host={collector.url!r}, flush_at=1)", flush=True)
    print("  Ctrl-C to stop", flush=True)
    try:
        collector.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        collector.stop()
    print("collector stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{python_command()} -m segment_web.collector",
        description="Local Segment tracking-API collector: stores messages in SQLite "
        "and shows them live at its URL. Needs the collector extra: "
        f"{install_command('collector')}",
        epilog=API_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    parser.add_argument("--port", type=_port, default=8765, help="port, 0 for any free one [8765]")
    parser.add_argument(
        "--db", default=None, help="SQLite file [$XDG_CACHE_HOME/segment_web/collector.sqlite3]"
    )
    parser.add_argument(
        "--write-key",
        type=_write_key,
        default=None,
        help="accept only this write key [any key is accepted]",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this Host name (repeatable) "
        "[only localhost and IP addresses]",
    )
    parser.add_argument(
        "--plan",
        metavar="PLAN.json",
        help="flag each event that breaks this tracking plan (needs the plan extra)",
    )
    parser.add_argument(
        "--allow-unplanned-events",
        action="store_true",
        help="with --plan: events the plan does not list are not flagged",
    )
    faults = parser.add_argument_group("rehearsing a slow or failing API")
    faults.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="answer each tracking request after MS milliseconds [0]",
    )
    faults.add_argument(
        "--fail-rate",
        type=float,
        default=None,
        metavar="RATE",
        help="fail this fraction (0 to 1) of tracking requests; failed batches are not stored",
    )
    faults.add_argument(
        "--fail-status",
        type=int,
        default=None,
        metavar="STATUS",
        help="the status of those failures, 400-599 [503]; alone, every request fails",
    )
    faults.add_argument(
        "--retry-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="send a Retry-After header with each failure",
    )
    faults.add_argument(
        "--fail-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed the choice of failing requests, so every run fails the same ones",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each received message")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, got {text!r}")
    return port


def _write_key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


_FLAGS = {
    "latency_ms": "--latency",
    "fail_rate": "--fail-rate",
    "fail_status": "--fail-status",
    "retry_after": "--retry-after",
    "fail_seed": "--fail-seed",
}


def _flag_names(message: str) -> str:
    """A ``Collector`` argument error, worded with the command line's flags."""
    for name, flag in _FLAGS.items():
        message = message.replace(name, flag)
    return message


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
