"""Test settings: the real settings with tasks run inline and a fast password hasher."""

from config.settings import *  # noqa: F403

HUEY = {"huey_class": "huey.MemoryHuey", "name": "assay-test", "immediate": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
# Each test process counts portal lookups in its own memory: no counter outlives the run or leaks
# between processes through var/cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "assay-test"}}
