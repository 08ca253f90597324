"""The bulk writer's column check: it fails loudly on columns it does not know, and fills the
ones a model gained since with their defaults."""

import pytest

from assay.demo.bulk import Table
from assay.orders.models import OrderLine, ShipmentLine


def test_a_column_the_model_does_not_have_is_refused_by_name():
    table = Table(ShipmentLine, ("shipment_id", "line_id", "quantity", "colour"))
    with pytest.raises(ValueError, match=r"unknown columns \['colour'\]"):
        table.completed()


def test_a_required_column_without_a_default_is_refused_by_name():
    table = Table(ShipmentLine, ("shipment_id", "line_id"))
    with pytest.raises(ValueError, match=r"required columns \['quantity'\]"):
        table.completed()


def test_a_column_left_out_that_has_a_default_is_written_with_it():
    given = ("brand_id", "created_at", "updated_at", "order_id", "external_id", "title", "quantity", "unit_price")
    columns, defaults = Table(OrderLine, given).completed()
    added = dict(zip(columns[len(given) :], defaults, strict=True))
    assert added["position"] == 1
    assert added["personalised"] is False
    assert added["fulfilled_quantity"] == 0
    assert added["sku"] == ""
    assert "piece_id" not in added  # nullable: left to the database
