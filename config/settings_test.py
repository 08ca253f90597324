"""Test settings: the real settings with tasks run inline and a fast password hasher."""

from config.settings import *  # noqa: F403

HUEY = {"huey_class": "huey.MemoryHuey", "name": "assay-test", "immediate": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
