"""A Flask app whose requests publish jobs, as a web app enqueues work for a worker."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request

from segment_web.flask import Segment


def make_site(host: str, publish: Callable[[int], None]) -> Flask:
    site = Flask(__name__)
    site.config.update(SEGMENT_WRITE_KEY="publisher", SEGMENT_HOST=host, SEGMENT_AUTO_PAGE=False)
    Segment(site, user_id=lambda: request.args.get("user") or None)

    @site.post("/enqueue")
    def enqueue() -> str:
        first, count = int(request.args["first"]), int(request.args["count"])
        for number in range(first, first + count):
            publish(number)
        return "queued"

    return site
