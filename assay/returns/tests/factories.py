"""factory-boy factories for return requests and what they hang on (brand, order, lines, notes).

Rows are written directly, without the services, so a test can put a request in any state at any
age; tests of the services themselves go through the services. Extend additively: other apps'
tests use these.

    request = ReturnRequestFactory.create(brand=brand, status="pending_review", value=Decimal("2400"))
    ReturnLineFactory.create(request=request, reason="size_too_small", size_wanted=Decimal("7"))
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from assay.brands.models import Brand
from assay.orders.models import Customer, Order, OrderLine
from assay.orders.schema import number_key
from assay.policies.models import PolicyVersion
from assay.returns.models import ReturnLine, ReturnNote, ReturnRequest
from assay.returns.status import ReturnStatus


class BrandFactory(factory.django.DjangoModelFactory[Brand]):
    class Meta:
        model = Brand
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    currency = "USD"


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    brand = factory.SubFactory(BrandFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    brand = factory.SubFactory(BrandFactory)
    external_id = factory.Sequence(lambda n: f"ord-{n}")
    number = factory.Sequence(lambda n: f"#{5000 + n}")
    number_key = factory.LazyAttribute(lambda o: number_key(o.number))
    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    customer = factory.SubFactory(
        CustomerFactory, brand=factory.SelfAttribute("..brand"), email=factory.SelfAttribute("..email")
    )
    currency = factory.LazyAttribute(lambda o: o.brand.currency)
    subtotal = Decimal("1250.00")
    total = Decimal("1250.00")
    financial_status = "paid"
    fulfillment_status = "fulfilled"
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    source = "shopify"


class OrderLineFactory(factory.django.DjangoModelFactory[OrderLine]):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    brand = factory.SelfAttribute("order.brand")
    external_id = factory.Sequence(lambda n: f"line-{n}")
    sku = factory.Sequence(lambda n: f"RING-SOL-{n}")
    title = "Solitaire ring"
    variant_title = "6 / Platinum"
    quantity = 1
    unit_price = Decimal("1250.00")
    fulfilled_quantity = factory.SelfAttribute("quantity")


class PolicyVersionFactory(factory.django.DjangoModelFactory[PolicyVersion]):
    class Meta:
        model = PolicyVersion

    brand = factory.SubFactory(BrandFactory)
    number = factory.Sequence(lambda n: n + 1)
    document = factory.LazyFunction(lambda: {"rules": []})
    note = "test policy"
    created_by = "test"


class ReturnRequestFactory(factory.django.DjangoModelFactory[ReturnRequest]):
    class Meta:
        model = ReturnRequest

    brand = factory.SubFactory(BrandFactory)
    rma = factory.Sequence(lambda n: f"R-{100100 + n}")
    order = factory.SubFactory(OrderFactory, brand=factory.SelfAttribute("..brand"))
    customer = factory.SelfAttribute("order.customer")
    email = factory.SelfAttribute("order.email")
    status = ReturnStatus.PENDING_REVIEW
    method = "mail"
    source = "portal"
    currency = factory.SelfAttribute("order.currency")
    value = Decimal("1250.00")
    requested_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))


class ReturnLineFactory(factory.django.DjangoModelFactory[ReturnLine]):
    class Meta:
        model = ReturnLine

    request = factory.SubFactory(ReturnRequestFactory)
    brand = factory.SelfAttribute("request.brand")
    order_line = factory.SubFactory(
        OrderLineFactory, order=factory.SelfAttribute("..request.order"), brand=factory.SelfAttribute("..brand")
    )
    quantity = 1
    status = factory.SelfAttribute("request.status")
    reason = "size_too_small"
    resolution = "exchange"
    exchange_kind = "size"
    unit_price = factory.SelfAttribute("order_line.unit_price")


class ReturnNoteFactory(factory.django.DjangoModelFactory[ReturnNote]):
    class Meta:
        model = ReturnNote

    request = factory.SubFactory(ReturnRequestFactory)
    brand = factory.SelfAttribute("request.brand")
    author = "ops@aurelia.example"
    body = "Called the shopper; the ring was never worn."
