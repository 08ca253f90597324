"""Shopper pages under /returns/<brand>/: thin views over the returns services and selectors.

Every page works without JavaScript; forms post and redirect. The shopper proves one order by
number + e-mail and then holds it in the session (portal.session) for 30 minutes of activity.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from assay.brands.models import Brand
from assay.brands.selectors import brand_by_slug
from assay.core.audit import Actor
from assay.core.errors import DomainError, NotFound
from assay.orders.selectors import OrderDetail, order_detail
from assay.policies.facts import METHODS, OrderFacts
from assay.portal.forms import LookupForm, ReturnForm
from assay.portal.offers import LineOffer, line_offers
from assay.portal.selectors import rma_for_submission
from assay.portal.session import grant_forget, grant_store, granted_order
from assay.resolutions.checkouts import simulated_checkout_pay
from assay.resolutions.selectors import shopper_outcome
from assay.resolutions.services import resolutions_due
from assay.resolutions.simulated import simulated_checkout
from assay.returns.eligibility import order_facts_and_eligibility
from assay.returns.photos import MAX_BYTES, MAX_PHOTOS, return_photos_attach
from assay.returns.portal_access import TooManyAttempts, client_address, portal_lookup
from assay.returns.selectors import ReturnSummary, return_for_rma, return_timeline, returns_for_order
from assay.returns.services import return_request_cancel, return_request_create
from assay.returns.status import SHOPPER_CANCELLABLE

# Five photos of 10 MB and the form's own fields, with room for multipart overhead.
MAX_UPLOAD_BYTES = MAX_PHOTOS * MAX_BYTES + 1024 * 1024
SESSION_ENDED = "Please look up your order again: for your privacy, the page closes after 30 minutes."

PortalView = Callable[..., HttpResponseBase]


def _unknown_brand(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/unknown_brand.html", status=404)


def brand_page(view: PortalView) -> PortalView:
    """Resolve the brand from the URL (an unknown one is a 404 page) and pass it to the view."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, brand: str, **kwargs: Any) -> HttpResponseBase:
        found = brand_by_slug(slug=brand)
        if found is None:
            return _unknown_brand(request)
        return view(request, found, **kwargs)

    return wrapped


@dataclass(frozen=True, slots=True)
class ProvedOrder:
    order: OrderDetail
    facts: OrderFacts
    offers: list[LineOffer]

    @property
    def email(self) -> str:
        return self.order.email


def order_page(view: PortalView) -> PortalView:
    """Like brand_page, for pages of the proved order: without a live grant, back to the lookup."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, brand: str, **kwargs: Any) -> HttpResponseBase:
        found = brand_by_slug(slug=brand)
        if found is None:
            return _unknown_brand(request)
        order_id = granted_order(request, brand_id=found.pk)
        order = order_detail(brand_id=found.pk, order_id=order_id) if order_id is not None else None
        if order is None:
            messages.info(request, SESSION_ENDED)
            return HttpResponseRedirect(reverse("portal:lookup", kwargs={"brand": found.slug}))
        return view(request, found, order, **kwargs)

    return wrapped


def _proved(brand: Brand, order: OrderDetail) -> ProvedOrder:
    facts, decision = order_facts_and_eligibility(brand_id=brand.pk, order_id=order.id)
    return ProvedOrder(order=order, facts=facts, offers=line_offers(brand_id=brand.pk, order=order, facts=facts,
                                                                    decision=decision))  # fmt: skip


def _shopper(order: OrderDetail) -> Actor:
    return Actor(kind="shopper", label=f"shopper {order.email}"[:200])


@require_http_methods(["GET", "POST"])
@brand_page
def lookup(request: HttpRequest, brand: Brand) -> HttpResponse:
    form = LookupForm(request.POST or None)
    status = 200
    retry_after = 0
    if request.method == "POST" and form.is_valid():
        try:
            found = portal_lookup(
                brand_id=brand.pk,
                number=form.cleaned_data["order_number"],
                email=form.cleaned_data["email"],
                client=client_address(request.META),
            )
        except TooManyAttempts as exc:
            form.add_error(None, exc.message)
            status, retry_after = 429, exc.retry_after
        except NotFound as exc:
            form.add_error(None, exc.message)
        else:
            grant_store(request, brand_id=brand.pk, order_id=found.id)
            return HttpResponseRedirect(reverse("portal:order", kwargs={"brand": brand.slug}))
    response = render(request, "portal/lookup.html", {"brand": brand, "form": form}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
@brand_page
def leave(request: HttpRequest, brand: Brand) -> HttpResponse:
    grant_forget(request, brand_id=brand.pk)
    return HttpResponseRedirect(reverse("portal:lookup", kwargs={"brand": brand.slug}))


@require_http_methods(["GET"])
@order_page
def order_view(request: HttpRequest, brand: Brand, order: OrderDetail) -> HttpResponse:
    proved = _proved(brand, order)
    context = {
        "brand": brand,
        "order": order,
        "offers": proved.offers,
        "returnable": any(offer.eligible for offer in proved.offers),
        "returns": returns_for_order(brand_id=brand.pk, order_id=order.id),
    }
    return render(request, "portal/order.html", context)


def _methods(offers: list[LineOffer]) -> list[str]:
    """Every method some returnable line allows, in the vocabulary's order; the form checks each
    chosen line against the chosen method."""
    allowed = {method for offer in offers if offer.eligible and offer.decision for method in offer.decision.methods}
    return [method for method in METHODS if method in allowed]


@require_http_methods(["GET", "POST"])
@order_page
def return_start(request: HttpRequest, brand: Brand, order: OrderDetail) -> HttpResponse:
    if request.method == "POST" and _content_length(request) > MAX_UPLOAD_BYTES:
        # Refused before Django reads the body: nobody sends this much for five photos.
        messages.error(request, f"Your photos are too large together: at most {MAX_PHOTOS} photos of 10 MB each.")
        return HttpResponseRedirect(reverse("portal:return-start", kwargs={"brand": brand.slug}))
    if request.method == "POST":
        already = rma_for_submission(
            brand_id=brand.pk, order_id=order.id, submission_key=_uuid_hex(request.POST.get("submission_key", ""))
        )
        if already is not None:  # a double submit: the first one's answer, nothing twice
            return HttpResponseRedirect(reverse("portal:confirmation", kwargs={"brand": brand.slug, "rma": already}))
    proved = _proved(brand, order)
    eligible = [offer for offer in proved.offers if offer.eligible]
    if not eligible:
        messages.info(request, "Nothing in this order can be returned online right now.")
        return HttpResponseRedirect(reverse("portal:order", kwargs={"brand": brand.slug}))
    form = ReturnForm(
        request.POST or None, request.FILES or None, offers=proved.offers, methods=_methods(proved.offers)
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = return_request_create(
                brand_id=brand.pk,
                order_id=order.id,
                lines=form.cleaned_data["lines"],
                method=form.cleaned_data["method"],
                actor=_shopper(order),
                source="portal",
                submission_key=form.cleaned_data["submission_key"],
            )
        except DomainError as exc:
            form.add_error(None, _sentence(exc.message))
        else:
            # A double submit found the first request: its photos are already there.
            if form.photos_cleaned and not created.photos.exists():
                return_photos_attach(brand_id=brand.pk, request_id=created.pk, photos=form.photos_cleaned)
            # Kept items, and policies that settle on approval, are settled as soon as it is authorised.
            resolutions_due(brand_id=brand.pk, request_id=created.pk)
            return HttpResponseRedirect(
                reverse("portal:confirmation", kwargs={"brand": brand.slug, "rma": created.rma})
            )
    context = {
        "brand": brand,
        "order": order,
        "form": form,
        "blocked": [offer for offer in proved.offers if not offer.eligible],
    }
    return render(request, "portal/return_form.html", context, status=422 if form.errors else 200)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _uuid_hex(text: str) -> str:
    try:
        return uuid.UUID(text.strip()).hex
    except ValueError:
        return ""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _granted_return(brand: Brand, order: OrderDetail, rma: str) -> ReturnSummary | None:
    found = return_for_rma(brand_id=brand.pk, rma=rma)
    if found is None or found.order_id != order.id:
        return None  # another order's RMA looks exactly like one that does not exist
    return found


def _no_such_return(request: HttpRequest, brand: Brand) -> HttpResponse:
    return render(request, "portal/no_such_return.html", {"brand": brand}, status=404)


@require_http_methods(["GET"])
@order_page
def confirmation(request: HttpRequest, brand: Brand, order: OrderDetail, rma: str) -> HttpResponse:
    found = _granted_return(brand, order, rma)
    if found is None:
        return _no_such_return(request, brand)
    return render(request, "portal/confirmation.html", {"brand": brand, "order": order, "ret": found})


def _status_context(brand: Brand, order: OrderDetail, found: ReturnSummary) -> dict[str, Any]:
    return {
        "brand": brand,
        "order": order,
        "ret": found,
        "timeline": return_timeline(brand_id=brand.pk, request_id=found.id, shopper=True),
        "cancellable": found.status in SHOPPER_CANCELLABLE,
        "outcome": shopper_outcome(brand_id=brand.pk, request_id=found.id, email=order.email),
    }


@require_http_methods(["GET"])
@order_page
def status(request: HttpRequest, brand: Brand, order: OrderDetail, rma: str) -> HttpResponse:
    found = _granted_return(brand, order, rma)
    if found is None:
        return _no_such_return(request, brand)
    return render(request, "portal/status.html", _status_context(brand, order, found))


@require_POST
@order_page
def cancel(request: HttpRequest, brand: Brand, order: OrderDetail, rma: str) -> HttpResponse:
    found = _granted_return(brand, order, rma)
    if found is None:
        return _no_such_return(request, brand)
    try:
        return_request_cancel(brand_id=brand.pk, request_id=found.id, actor=_shopper(order))
    except DomainError as exc:
        messages.error(request, _sentence(exc.message))
    else:
        messages.success(request, f"RMA {found.rma} is cancelled. Nothing more to do.")
    target = reverse("portal:status", kwargs={"brand": brand.slug, "rma": found.rma})
    return HttpResponseRedirect(target)


@require_http_methods(["GET", "POST"])
def simulated_checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """The demo's payment page: what a shopper sees at a payment provider, with no money moving."""
    session = simulated_checkout(session_id)
    if session is None:
        return render(request, "portal/simulated_checkout.html", {"session": None}, status=404)
    if request.method == "POST" and session.status == "open":
        return HttpResponseRedirect(simulated_checkout_pay(session_id=session_id))
    return render(request, "portal/simulated_checkout.html", {"session": session})
