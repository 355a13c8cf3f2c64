"""Settings of the Django example shop; the SEGMENT block is all analytics needs."""

import os
import tempfile

from example_projects.shop import COLLECTOR, write_key

DEBUG = True
SECRET_KEY = "example-only"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "example_projects.django_shop.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "segment_web.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "segment_web.django.SegmentMiddleware",
]
SEGMENT = {
    "WRITE_KEY": write_key("django"),
    "HOST": COLLECTOR,
    "FLUSH_AT": 1,  # development: send each call at once
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "DJANGO_SHOP_DB", os.path.join(tempfile.gettempdir(), "segment_web_django_shop.sqlite3")
        ),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
