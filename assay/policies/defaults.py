"""A return policy a fine-jewellery brand can start from, then edit.

What it says, in order (see engine.py for how rules combine):
- 30 days for a refund and 60 days for an exchange or store credit, counted from delivery (from the
  shipment when delivery was not recorded), so an exchange is still possible after the refund window;
  free return label by mail or drop-off; 10% bonus on store credit, capped at 100 per line.
- Pierced earrings and other hygiene items are not returnable (stop).
- Final-sale items are not returnable (stop).
- Engraved or personalised rings and bands that can be resized: resize only (an exchange for another
  size, to the bench). Other engraved or personalised pieces are final sale (stop). The UK Consumer
  Contracts Regulations 2013, reg. 28(1)(b), exclude goods made to the consumer's specification or
  clearly personalised from the cancellation right.
- High value (flagged, or a unit price of 2,000 or more): a person reviews the request; the return
  travels insured, signature required, by mail; the piece is checked for authenticity on arrival.
- Natural stones: authenticity check on arrival (a natural stone swapped for a laboratory-grown one
  or a simulant is the trade's classic return fraud).
- Customers with 3 or more earlier returns and a return rate of 50% or more: a person reviews.
"""

from __future__ import annotations

from typing import Any

HIGH_VALUE_FROM = "2000"


def default_jewellery_policy() -> dict[str, Any]:
    """The default document (a fresh dict each call: callers may change it)."""
    return {
        "schema_version": 1,
        "name": "Fine jewellery returns",
        "timezone": "UTC",
        "defaults": {
            "eligible": True,
            "anchor": "delivery",
            "refund_days": 30,
            "exchange_days": 60,
            "store_credit_window": "exchange",
            "resolutions": ["refund", "store_credit", "exchange"],
            "exchange_kinds": ["size", "variant", "product"],
            "methods": ["mail", "drop_off"],
            "destination": "warehouse",
            "label_fee": "0",
            "bonus_store_credit": {"percent": "10", "cap": "100"},
        },
        "rules": [
            {
                "id": "hygiene",
                "name": "Pierced earrings are not returnable",
                "description": "Hygiene: pierced earrings cannot be resold once worn.",
                "when": {"any": [{"hygiene_item": True}, {"tags_any": ["pierced"]}]},
                "then": {"eligible": False, "reason": "Pierced earrings cannot be returned for hygiene reasons."},
                "stop": True,
            },
            {
                "id": "final-sale",
                "name": "Final sale",
                "when": {"final_sale": True},
                "then": {"eligible": False, "reason": "This item was sold as final sale."},
                "stop": True,
            },
            {
                "id": "personalised-resize",
                "name": "Engraved rings: resize only",
                "description": "Engraved or personalised rings that can be resized may come back for another size.",
                "when": {"personalised": True, "category": ["ring", "band"], "resizable": True},
                "then": {
                    "resolutions": ["exchange"],
                    "exchange_kinds": ["size"],
                    "destination": "bench",
                    "reason": "Engraved and personalised pieces are final sale; this ring can be resized.",
                },
            },
            {
                "id": "personalised-final",
                "name": "Engraved or personalised: final sale",
                "when": {
                    "personalised": True,
                    "not": {"category": ["ring", "band"], "resizable": True},
                },
                "then": {
                    "eligible": False,
                    "reason": "Engraved and personalised pieces are final sale and cannot be returned.",
                },
                "stop": True,
            },
            {
                "id": "high-value",
                "name": "High value: review, insured shipping, authenticity check",
                "when": {"any": [{"high_value": True}, {"unit_price_at_least": HIGH_VALUE_FROM}]},
                "then": {
                    "manual_review": True,
                    "insured": True,
                    "signature_required": True,
                    "authenticity_check": True,
                    "methods": ["mail"],
                },
            },
            {
                "id": "natural-stones",
                "name": "Natural stones: authenticity check",
                "when": {"stone_origin": ["natural", "mixed"]},
                "then": {"authenticity_check": True},
            },
            {
                "id": "frequent-returner",
                "name": "Frequent returners: review",
                "when": {"customer_returns_at_least": 3, "customer_return_rate_at_least": "0.5"},
                "then": {"manual_review": True},
            },
        ],
    }
