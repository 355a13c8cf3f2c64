import argparse
import os

import django
import uvicorn

parser = argparse.ArgumentParser(description="The Django example shop")
parser.add_argument("--port", type=int, default=8001)
port = parser.parse_args().port

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_projects.django_shop.settings")
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402 - after django.setup()
from django.core.management import call_command  # noqa: E402

from segment_web.asgi import FlushOnShutdown  # noqa: E402

call_command("migrate", verbosity=0)
print(f"Django shop on http://127.0.0.1:{port}", flush=True)
# uvicorn ends the process by re-raising SIGTERM, so atexit never runs: flush at the
# lifespan shutdown instead (Django itself does not speak lifespan).
application = FlushOnShutdown(get_asgi_application())
uvicorn.run(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
