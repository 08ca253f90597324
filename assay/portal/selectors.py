"""Reads only the shopper pages need."""

from __future__ import annotations

from assay.returns.models import ReturnRequest


def rma_for_submission(*, brand_id: int, order_id: int, submission_key: str) -> str | None:
    """The RMA a submission of this order's return form already created, if any. One query (none for
    a blank key): a double submit lands on the first request's confirmation."""
    key = submission_key.strip()
    if not key or len(key) > 64:
        return None
    return (
        ReturnRequest.objects.filter(brand_id=brand_id, order_id=order_id, submission_key=key)
        .values_list("rma", flat=True)
        .first()
    )
