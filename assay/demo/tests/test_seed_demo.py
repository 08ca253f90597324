"""`assay seed_demo`: the demo brands, their catalogue and a history that follows the canonical rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from assay.brands.models import Brand, Membership
from assay.brands.selectors import integration_secret, token_identity
from assay.catalog.models import Category, Piece, PieceStatus, Product, Specification, Stone, StoneOrigin, Variant
from assay.core.models import AuditEvent
from assay.demo import services
from assay.demo.services import OWNER_EMAIL, demo_reset
from assay.demo.tracking import (
    dhl_express_check_digit,
    fedex_express_check_digit,
    ups_check_digit,
    usps_check_digit,
)
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentStatus, ShopRefund
from assay.orders.schema import is_personalisation, number_key
from assay.resolutions.models import Exchange
from assay.returns.eligibility import order_eligibility

AS_OF = "2025-06-30"
CENT = Decimal("0.01")
HALF_SIZES = {Decimal(4) + Decimal("0.5") * step for step in range(13)}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--orders", "200", "--as-of", AS_OF, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """One committed demo for the module (seeding takes seconds); each test then runs in its own
    transaction on top of it, and the module removes it at the end."""
    with django_db_blocker.unblock():
        output = seed()
    yield output
    with django_db_blocker.unblock():
        demo_reset()
        get_user_model().objects.filter(username=OWNER_EMAIL).delete()


@pytest.fixture
def seeded(demo: str, db: Any) -> str:
    return demo


def aurelia() -> Brand:
    return Brand.objects.get(slug="aurelia")


def snapshot() -> list[Any]:
    """What a person would see of the demo data, without database ids."""
    orders = list(
        Order.objects.order_by("brand__slug", "placed_at", "number").values_list(
            "brand__slug", "number", "email", "placed_at", "total", "total_tax", "financial_status", "tags"
        )
    )
    lines = list(
        OrderLine.objects.order_by("order__brand__slug", "order__number", "position").values_list(
            "order__number", "sku", "quantity", "unit_price", "properties", "personalised", "piece__report_number"
        )
    )
    shipments = list(
        Shipment.objects.order_by("order__brand__slug", "order__number", "shipped_at").values_list(
            "order__number", "carrier", "tracking_numbers", "status", "delivered_at"
        )
    )
    pieces = list(Piece.objects.order_by("serial_number").values_list("serial_number", "report_number", "status"))
    return [orders, lines, shipments, pieces]


def test_seeding_builds_aurelia_and_lumen_with_their_branding(seeded):
    brand = aurelia()
    assert (brand.name, brand.currency, brand.timezone) == ("Aurelia Fine Jewellery", "USD", "America/New_York")
    assert brand.sender_email == "care@aurelia.example"
    assert brand.primary_colour.startswith("#")
    assert brand.accent_colour != brand.primary_colour
    lumen = Brand.objects.get(slug="lumen")
    assert (lumen.name, lumen.currency) == ("Lumen Diamonds", "EUR")
    assert Product.objects.filter(brand=lumen).count() >= 3
    assert Order.objects.filter(brand=lumen, currency="EUR").count() == 60


def test_the_demo_owner_logs_in_and_works_for_both_brands(seeded):
    user = get_user_model().objects.get(username="owner@aurelia.example")
    assert Client().login(username="owner@aurelia.example", password="aurelia-demo")
    assert user.is_staff
    assert not user.is_superuser
    roles = dict(Membership.objects.filter(user=user).values_list("brand__slug", "role"))
    assert roles == {"aurelia": "owner", "lumen": "ops"}


def test_the_summary_prints_a_working_token_the_secret_and_the_counts(seeded):
    token = re.search(r"API token:\s+(\S+)", seeded)
    assert token is not None
    identity = token_identity(raw=token.group(1))
    assert identity is not None
    assert (identity.brand_slug, identity.role) == ("aurelia", "ops")
    assert "aurelia-demo-shopify-secret" in seeded
    assert integration_secret(brand_id=aurelia().pk, integration="shopify") == "aurelia-demo-shopify-secret"
    assert "owner@aurelia.example / aurelia-demo" in seeded
    assert "200 orders" in seeded
    assert re.search(r"Done in \d+\.\d s", seeded)


def test_the_counts_are_what_was_asked_and_every_order_has_lines(seeded):
    brand = aurelia()
    # Exchanges settled in the demo send their replacements as orders of their own.
    replacements = Order.objects.filter(brand=brand, channel="exchange")
    assert replacements.count() == Exchange.objects.filter(brand=brand, replacement_order__isnull=False).count()
    orders = Order.objects.filter(brand=brand).exclude(channel="exchange")
    assert orders.count() == 200
    assert not orders.filter(lines__isnull=True).exists()
    assert 0 < Customer.objects.filter(brand=brand).count() < 200
    numbers = sorted(int(n.lstrip("#")) for n in orders.values_list("number", flat=True))
    assert numbers == list(range(1001, 1201))
    assert Shipment.objects.filter(brand=brand, status=ShipmentStatus.DELIVERED).count() > 150
    assert orders.filter(cancelled_at__isnull=True).count() > 190
    created = AuditEvent.objects.filter(brand=brand, subject_type="order", action="order_created")
    assert created.count() == 200 + replacements.count()


def test_every_order_follows_the_canonical_rules(seeded):
    for order in Order.objects.exclude(channel="exchange").prefetch_related(
        "lines__product", "shipments__shipment_lines"
    ):
        assert order.number_key == number_key(order.number)
        assert order.email == order.email.lower()
        assert "@example." in order.email
        assert order.source == "demo"
        for amount in (order.subtotal, order.total_tax, order.total_discounts, order.total_shipping, order.total):
            assert amount == amount.quantize(CENT)
        lines = list(order.lines.all())
        net = sum((line.unit_price * line.quantity - line.total_discount for line in lines), Decimal(0))
        assert order.subtotal == net
        if order.taxes_included:
            assert order.total == order.subtotal + order.total_shipping
        else:
            assert order.total == order.subtotal + order.total_shipping + order.total_tax
        for line in lines:
            engraved = any(is_personalisation(k, v) for k, v in line.properties.items())
            assert line.product is not None
            assert line.personalised == (engraved or line.product.personalised)
            assert line.unit_price == line.unit_price.quantize(CENT)
        for shipment in order.shipments.all():
            assert shipment.tracking_number == shipment.tracking_numbers[0]
            assert shipment.shipment_lines.exists()
            assert (shipment.delivered_at is not None) == (shipment.status == ShipmentStatus.DELIVERED)
        if order.cancelled_at is not None:
            assert not order.shipments.exists()


def test_band_orders_carry_engraving_text_and_count_as_personalised(seeded):
    engraved = OrderLine.objects.filter(product__category=Category.BAND, properties__has_key="Engraving")
    assert engraved.count() >= 5
    assert all(line.personalised for line in engraved)
    texts = {line.properties["Engraving"] for line in OrderLine.objects.filter(properties__has_key="Engraving")}
    assert any(not text.isascii() for text in texts), "some engraving is unicode, like Für immer or 永遠"


def test_natural_and_laboratory_grown_diamonds_carry_report_numbers_in_their_labs_formats(seeded):
    natural = Stone.objects.filter(species="diamond", origin=StoneOrigin.NATURAL).exclude(report_number="")
    grown = Stone.objects.filter(species="diamond", origin=StoneOrigin.LABORATORY_GROWN).exclude(report_number="")
    assert natural.exists()
    assert grown.exists()
    assert all(s.lab == "GIA" and re.fullmatch(r"\d{10}", s.report_number) for s in natural)
    assert all(s.lab == "IGI" and re.fullmatch(r"LG\d{9}", s.report_number) for s in grown)
    assert any("heated" in s.treatments for s in Stone.objects.filter(species="sapphire"))
    assert Stone.objects.filter(species__contains="cultured").exists()


def test_shipped_diamond_pieces_are_serialised_and_linked_to_their_order_lines(seeded):
    shipped = OrderLine.objects.filter(brand=aurelia(), piece__isnull=False).select_related("piece")
    assert shipped.exists()
    for line in shipped:
        piece = line.piece
        assert piece is not None
        assert piece.variant_id == line.variant_id
        assert line.fulfilled_quantity == line.quantity == 1
        assert piece.status in {PieceStatus.SOLD.value, PieceStatus.RETURNED.value}
        assert piece.inscription.split() in (["GIA", piece.report_number], ["IGI", piece.report_number])
        assert piece.weight_g
        assert piece.weight_g > 0
    serials = list(Piece.objects.values_list("brand_id", "serial_number"))
    assert len(serials) == len(set(serials))
    assert Piece.objects.filter(status=PieceStatus.IN_STOCK).exists()


def test_ring_variants_carry_their_us_size_and_only_metal_rings_resize(seeded):
    rings = Product.objects.filter(brand=aurelia(), category__in=[Category.RING, Category.BAND])
    assert rings.count() >= 8
    for product in rings:
        sizes = set(Variant.objects.filter(product=product).values_list("ring_size", flat=True))
        assert sizes == HALF_SIZES, product.title
    for title in ("Tungsten", "Titanium", "Full Eternity"):
        assert not rings.get(title__contains=title).resizable
    gold = rings.get(title__contains="Classic Comfort-Fit")
    assert (gold.resizable, gold.resizable_down, gold.resizable_up, gold.engravable) == (True, 2, 2, True)


def test_the_catalogue_flags_and_specifications_follow_the_trade(seeded):
    products = Product.objects.filter(brand=aurelia())
    assert products.get(title__contains="Stud Earrings").hygiene_item
    assert not products.get(title__contains="Clip-On").hygiene_item
    assert products.filter(final_sale=True).exists()
    assert set(products.filter(high_value=True).values_list("title", flat=True)) >= {
        "Diamond Tennis Necklace 5.00 ctw, 14K White Gold"
    }
    specs = Specification.objects.filter(brand=aurelia())
    assert {(s.karat, s.fineness) for s in specs if s.karat} <= {(14, Decimal("583.3")), (18, Decimal("750.0"))}
    assert specs.filter(metal="platinum", fineness=950).exists()
    assert specs.filter(metal="silver", fineness=925).exists()
    assert specs.filter(hollow=True).exists()
    vermeil = specs.get(plating__startswith="vermeil")
    assert vermeil.plating_thickness_microns == Decimal("2.5")


def test_tracking_numbers_pass_their_carriers_check_digits(seeded):
    # Exchange replacements wait for their label: no carrier or number yet.
    shipped = Shipment.objects.exclude(order__channel="exchange")
    assert not Shipment.objects.filter(order__channel="exchange").exclude(tracking_number="").exists()
    for carrier, number in shipped.values_list("carrier", "tracking_number"):
        if carrier == "UPS":
            assert re.fullmatch(r"1Z[0-9A-Z]{16}", number)
            assert number[-1] == ups_check_digit(number[2:-1])
        elif carrier == "FedEx":
            assert re.fullmatch(r"\d{12}", number)
            assert number[-1] == fedex_express_check_digit(number[:-1])
        elif carrier == "USPS":
            assert re.fullmatch(r"94\d{20}", number)
            assert number[-1] == usps_check_digit(number[:-1])
        else:
            assert carrier == "DHL Express"
            assert number[-1] == dhl_express_check_digit(number[:-1])


def test_the_check_digits_agree_with_a_published_ups_number():
    # The sample UPS prints in its developer material: 1Z 999 AA1 01 2345 678 4.
    assert "1Z999AA1012345678" + ups_check_digit("999AA1012345678") == "1Z999AA10123456784"


def test_orders_have_a_history_written_by_the_demo_shop(seeded):
    order = Order.objects.filter(brand=aurelia(), shipments__status=ShipmentStatus.DELIVERED).first()
    assert order is not None
    events = list(AuditEvent.objects.filter(subject_type="order", subject_id=order.pk).order_by("at", "id"))
    assert [e.action for e in events[:2]] == ["order_created", "shipment_created"]
    assert (events[0].actor_label, events[0].data["source"]) == ("demo/shopify", "demo")
    assert events[0].at >= order.placed_at
    refunded = ShopRefund.objects.filter(brand=aurelia()).first()
    assert refunded is not None
    assert refunded.amount > 0
    assert refunded.currency == "USD"


def test_if_empty_does_nothing_when_a_brand_exists(seeded):
    before = snapshot()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already has 2 brand(s)" in out.getvalue()
    assert snapshot() == before


def test_seeding_again_without_reset_is_refused_with_a_clear_message(seeded):
    with pytest.raises(CommandError, match=r"'aurelia' already exists.*--reset"):
        seed()
    assert Order.objects.filter(brand=aurelia()).exclude(channel="exchange").count() == 200


def test_the_same_seed_gives_the_same_data_after_a_reset(seeded):
    first = snapshot()
    seed("--reset")
    assert Brand.objects.count() == 2
    assert snapshot() == first
    seed("--reset", "--seed", "7")
    assert snapshot() != first


def _schema() -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace UNION ALL "
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2, 3"
        )
        return cursor.fetchall()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="bulk loading without indexes is PostgreSQL's")
def test_a_large_run_puts_back_every_index_and_foreign_key_it_set_aside(seeded, monkeypatch):
    before = _schema()
    monkeypatch.setattr(services, "LARGE_RUN", 1)
    seed("--reset")
    assert _schema() == before
    assert Order.objects.filter(brand=aurelia()).exclude(channel="exchange").count() == 200
    assert not OrderLine.objects.filter(order__isnull=True).exists()


def test_if_empty_loads_the_demo_into_a_database_without_brands(seeded):
    demo_reset()
    out = StringIO()
    call_command("seed_demo", "--if-empty", "--orders", "50", "--lumen-orders", "5", stdout=out)
    assert Order.objects.filter(brand__slug="aurelia").count() == 50
    assert "Staff login" in out.getvalue()


@pytest.mark.parametrize("orders", ["-1", "1000001"])
def test_an_order_count_out_of_range_is_refused(seeded, orders):
    with pytest.raises(CommandError, match="between 0 and 1,000,000"):
        call_command("seed_demo", "--reset", "--orders", orders, stdout=StringIO())
    assert Order.objects.filter(brand=aurelia()).exclude(channel="exchange").count() == 200


# --- returns -----------------------------------------------------------------------------------


def test_both_demo_brands_get_the_default_return_policy(seeded):
    from assay.policies.models import PolicyVersion

    assert set(PolicyVersion.objects.filter(number=1).values_list("brand__slug", flat=True)) == {"aurelia", "lumen"}


def test_aurelia_has_returns_in_every_state_made_through_the_services(seeded):
    from assay.returns.models import ReturnRequest
    from assay.returns.status import ReturnStatus

    requests = ReturnRequest.objects.filter(brand=aurelia())
    assert set(requests.values_list("status", flat=True)) == set(ReturnStatus.values)
    assert "return requests (RMAs)" in seeded
    for request in requests.prefetch_related("lines"):
        assert request.rma.startswith("R-1")
        assert request.policy_version_id is not None
        assert request.lines.all()
        assert {line.status for line in request.lines.all()} <= set(ReturnStatus.values)
        requested = AuditEvent.objects.get(
            subject_type="returnrequest", subject_id=request.pk, action="return_requested"
        )
        assert requested.at == request.requested_at


def test_demo_returns_lived_in_the_past_in_order_and_sizing_leads_the_reasons(seeded):
    from collections import Counter
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from assay.returns.models import ReturnLine, ReturnRequest

    day_began = datetime.fromisoformat(AS_OF).replace(tzinfo=ZoneInfo("America/New_York"))
    for request in ReturnRequest.objects.filter(brand=aurelia()):
        times = list(
            AuditEvent.objects.filter(subject_type="returnrequest", subject_id=request.pk)
            .order_by("id")
            .values_list("at", flat=True)
        )
        assert times == sorted(times)
        assert times[-1] <= day_began
        assert request.order.shipments.filter(delivered_at__lt=request.requested_at).exists()
    reasons = Counter(ReturnLine.objects.filter(brand=aurelia()).values_list("reason", flat=True))
    sizing = reasons["size_too_small"] + reasons["size_too_large"]
    assert sizing >= max(count for reason, count in reasons.items() if not reason.startswith("size"))
    assert ReturnLine.objects.filter(brand=aurelia(), resolution="exchange", exchange_kind="size").exists()


def test_demo_shopper_names_an_order_whose_ring_the_portal_offers_to_resize(seeded):
    # given the demo as it stood on its last day
    now = datetime.combine(date.fromisoformat(AS_OF), time(18), tzinfo=UTC)
    # when a visitor asks which order to try
    number, email = services.demo_shopper_example(slug="aurelia", now=now) or ("", "")
    # then that order proves itself with its e-mail and offers a ring-size exchange on a line
    order = Order.objects.get(brand__slug="aurelia", number=number)
    assert order.email == email
    decision = order_eligibility(brand_id=order.brand_id, order_id=order.pk, now=now)
    assert any(line.eligible and "size" in line.exchange_kinds for line in decision.lines)


def test_demo_shopper_says_so_when_no_order_can_be_returned_today(seeded):
    # given a demo whose history ended long ago (every window has closed)
    out = StringIO()
    # when the visitor asks which order to try
    call_command("demo_shopper", stdout=out)
    # then they are told there is none rather than given one the portal would refuse
    assert "no order to try" in out.getvalue()
