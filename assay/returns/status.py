"""The life of a return request and of each of its lines, on one screen.

A request's lines can go to different destinations and move separately; the request's own status
follows its lines (the least advanced open line), except for the decisions taken on the whole request
(review, rejection, cancellation, expiry).
"""

from __future__ import annotations

from django.db import models


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_REVIEW = "pending_review", "Pending review"
    AUTHORISED = "authorised", "Authorised"
    REJECTED = "rejected", "Rejected"
    AWAITING_SHIPMENT = "awaiting_shipment", "Awaiting shipment"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    INSPECTED = "inspected", "Inspected"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


S = ReturnStatus

# The same table serves requests and lines.
ALLOWED: dict[str, set[str]] = {
    S.REQUESTED: {S.PENDING_REVIEW, S.AUTHORISED, S.REJECTED, S.CANCELLED},
    S.PENDING_REVIEW: {S.AUTHORISED, S.REJECTED, S.CANCELLED},
    # Authorised: the shopper may ship (label or QR issued -> awaiting shipment); keep-the-item lines resolve directly.
    S.AUTHORISED: {S.AWAITING_SHIPMENT, S.IN_TRANSIT, S.RECEIVED, S.RESOLVED, S.CANCELLED, S.EXPIRED},
    S.AWAITING_SHIPMENT: {S.IN_TRANSIT, S.RECEIVED, S.CANCELLED, S.EXPIRED},
    S.IN_TRANSIT: {S.RECEIVED},
    S.RECEIVED: {S.INSPECTED},
    S.INSPECTED: {S.RESOLVED},
    S.RESOLVED: {S.CLOSED},
    # A staff override with a reason can reopen a rejected or expired request for authorisation.
    S.REJECTED: {S.AUTHORISED, S.CLOSED},
    S.EXPIRED: {S.AUTHORISED, S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}

OPEN: frozenset[str] = frozenset(
    {S.REQUESTED, S.PENDING_REVIEW, S.AUTHORISED, S.AWAITING_SHIPMENT, S.IN_TRANSIT, S.RECEIVED, S.INSPECTED}
)
# States in which a line still claims its quantity of the order line (so it cannot be returned twice).
CLAIMING: frozenset[str] = frozenset(set(S.values) - {S.REJECTED, S.CANCELLED, S.EXPIRED})
# The shopper may cancel until the parcel is on its way.
SHOPPER_CANCELLABLE: frozenset[str] = frozenset({S.REQUESTED, S.PENDING_REVIEW, S.AUTHORISED, S.AWAITING_SHIPMENT})
