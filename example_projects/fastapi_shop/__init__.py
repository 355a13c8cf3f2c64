"""The FastAPI example shop: ``python -m example_projects.fastapi_shop [--port 8000]``."""
