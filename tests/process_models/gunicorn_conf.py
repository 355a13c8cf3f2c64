"""gunicorn settings for the tests: ``-c python:tests.process_models.gunicorn_conf``.

A SIGTERM that reaches a gunicorn worker before it has installed its own handlers is
lost: the worker still has the master's handler, which only queues the signal, and runs
on until the master's graceful timeout kills it (gunicorn's own race; gevent's
monkey-patching at boot makes the window wide on a loaded machine). So each worker,
once booted, leaves a file named by its pid in ``$SEGMENT_TEST_BOOTED``, and a test that
stops the server waits for every worker's file first (``servers.wait_booted``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    Path(os.environ["SEGMENT_TEST_BOOTED"], str(worker.pid)).touch()
