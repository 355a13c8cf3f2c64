import argparse
import contextlib
import logging
import signal
import sys

from werkzeug.serving import make_server

from example_projects.flask_shop.app import create_app

parser = argparse.ArgumentParser(description="The Flask example shop")
parser.add_argument("--port", type=int, default=5000)
port = parser.parse_args().port
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
# Stop cleanly on Ctrl-C and on SIGTERM, so the client's atexit flush runs.
signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
print(f"Flask shop on http://127.0.0.1:{port}", flush=True)
with contextlib.suppress(KeyboardInterrupt):
    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()
