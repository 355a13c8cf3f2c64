"""The Django example shop: ``python -m example_projects.django_shop [--port 8001]``."""
