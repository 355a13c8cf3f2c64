import argparse

import uvicorn

from example_projects.fastapi_shop.app import create_app

parser = argparse.ArgumentParser(description="The FastAPI example shop")
parser.add_argument("--port", type=int, default=8000)
port = parser.parse_args().port
print(f"FastAPI shop on http://127.0.0.1:{port}", flush=True)
uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")
