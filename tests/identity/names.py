"""What the identity test site and its tests share."""

ADA_TOKEN = "a" * 40  # ada's DRF token in tests/identity/django_site.py
