"""The Flask example shop: ``python -m example_projects.flask_shop [--port 5000]``."""
