"""Django's WSGI handler, with inbound webhooks served past the middleware meant for people.

The middleware stack serves browsers and staff: static files, sessions, CSRF, authentication,
messages, clickjacking and htmx headers, slash redirects. A webhook is a signed POST from a
machine that uses none of them, and walking the stack was ~95 µs of every delivery (measured
in-process, of a request that otherwise costs a few hundred). Requests under HOOKS_PREFIX keep
what still applies to them - SecurityMiddleware (HTTPS redirect, security headers), the
ALLOWED_HOSTS check, Django's exception handling and error logging - and go straight to their
view; every other request takes the full stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import django
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.security import SecurityMiddleware
from django.urls import set_urlconf
from django.utils.log import log_response

HOOKS_PREFIX = "/hooks/"
_Chain = Callable[[HttpRequest], HttpResponseBase]


class HooksAwareWSGIHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async)
        view = convert_exception_to_response(self._hook_view)
        self._hooks_chain = cast(_Chain, convert_exception_to_response(SecurityMiddleware(view)))

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(HOOKS_PREFIX):
            return super().get_response(request)
        set_urlconf(settings.ROOT_URLCONF)
        response = self._hooks_chain(request)
        # As Django's own get_response does.
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]
        if response.status_code >= 400:
            logged = cast(HttpResponse, response)
            log_response("%s: %s", response.reason_phrase, request.path, response=logged, request=request)
        return response

    def _hook_view(self, request: HttpRequest) -> HttpResponseBase:
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it
        callback, args, kwargs = self.resolve_request(request)
        response = callback(request, *args, **kwargs)
        self.check_response(response, callback)
        return response


def get_wsgi_application() -> HooksAwareWSGIHandler:
    """django.core.wsgi.get_wsgi_application, with the handler above."""
    django.setup(set_prefix=False)
    return HooksAwareWSGIHandler()
