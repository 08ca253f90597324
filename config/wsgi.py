import os

from assay.webhooks.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django's handler, with inbound webhooks (/hooks/) served past the browser middleware (see there).
application = get_wsgi_application()
