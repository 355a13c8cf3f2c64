"""Behaviour every adapter shares, written once and run through each (see drivers.py)."""

from tests.django import conftest as django_project  # noqa: F401  (Django configured before apps.py's DRF views)
