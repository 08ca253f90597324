"""Products, variants, jewellery specifications, stones and serialised pieces."""

from __future__ import annotations

from django.db import models

from assay.core.models import BrandOwned, MoneyField


class Category(models.TextChoices):
    RING = "ring", "Ring"
    BAND = "band", "Band"
    EARRINGS = "earrings", "Earrings"
    NECKLACE = "necklace", "Necklace"
    PENDANT = "pendant", "Pendant"
    BRACELET = "bracelet", "Bracelet"
    OTHER = "other", "Other"


class ProductStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DRAFT = "draft", "Draft"
    ARCHIVED = "archived", "Archived"
    DELETED = "deleted", "Deleted at the source"


class Metal(models.TextChoices):
    YELLOW_GOLD = "yellow_gold", "Yellow gold"
    WHITE_GOLD = "white_gold", "White gold"
    ROSE_GOLD = "rose_gold", "Rose gold"
    PLATINUM = "platinum", "Platinum"
    PALLADIUM = "palladium", "Palladium"
    SILVER = "silver", "Sterling silver"
    TITANIUM = "titanium", "Titanium"
    TUNGSTEN = "tungsten", "Tungsten carbide"
    STAINLESS_STEEL = "stainless_steel", "Stainless steel"
    OTHER = "other", "Other"


class StoneOrigin(models.TextChoices):
    NATURAL = "natural", "Natural"
    LABORATORY_GROWN = "laboratory_grown", "Laboratory-grown"
    IMITATION = "imitation", "Imitation / simulated"


class PieceStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    SOLD = "sold", "Sold"
    RETURNED = "returned", "Returned"
    QUARANTINED = "quarantined", "Quarantined"
    AT_BENCH = "at_bench", "At the bench"
    SCRAPPED = "scrapped", "Scrapped"


class Product(BrandOwned):
    external_id = models.CharField(max_length=64, blank=True, help_text="the shop's product id")
    title = models.CharField(max_length=255)
    handle = models.CharField(max_length=255, blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    status = models.CharField(max_length=20, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    tags = models.JSONField(default=list, blank=True)
    option_names = models.JSONField(default=list, blank=True, help_text='e.g. ["Ring size", "Metal"]')
    engravable = models.BooleanField(default=False)
    personalised = models.BooleanField(default=False, help_text="made to the customer's specification")
    resizable = models.BooleanField(default=False)
    resizable_down = models.DecimalField(
        max_digits=4, decimal_places=2, default=0, help_text="US sizes it can go down from the ordered size"
    )
    resizable_up = models.DecimalField(max_digits=4, decimal_places=2, default=0)
    final_sale = models.BooleanField(default=False)
    hygiene_item = models.BooleanField(default=False, help_text="e.g. pierced earrings")
    high_value = models.BooleanField(default=False)
    needs_completion = models.BooleanField(
        default=False, help_text="created from an order line; its specification is still to be completed"
    )
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=~models.Q(external_id=""),
                name="product_unique_brand_external_id",
            )
        ]
        indexes = [models.Index(fields=["brand", "title"], name="product_brand_title_idx")]

    def __str__(self) -> str:
        return self.title


class Variant(BrandOwned):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    external_id = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text='option name -> value, e.g. {"Ring size": "6.5"}')
    ring_size = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True, help_text="US size")
    price = MoneyField(default=0)
    inventory_quantity = models.IntegerField(default=0)
    position = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=~models.Q(external_id=""),
                name="variant_unique_brand_external_id",
            )
        ]
        indexes = [models.Index(fields=["brand", "sku"], name="variant_brand_sku_idx")]
        ordering = ["product_id", "position", "id"]

    def __str__(self) -> str:
        return f"{self.sku or self.title}"


class Specification(BrandOwned):
    """The jewellery facts a description and an inspection are checked against."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="specification")
    metal = models.CharField(max_length=20, choices=Metal.choices, blank=True)
    karat = models.PositiveSmallIntegerField(null=True, blank=True)
    fineness = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True, help_text="parts per thousand, e.g. 585.0"
    )
    metal_weight_g = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    width_mm = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    length_mm = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    thickness_mm = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    hollow = models.BooleanField(default=False)
    plating = models.CharField(max_length=60, blank=True, help_text="e.g. rhodium, gold electroplate, vermeil")
    plating_thickness_microns = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)

    def __str__(self) -> str:
        return f"spec of {self.product_id}"


class Stone(BrandOwned):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stones")
    species = models.CharField(max_length=60, help_text="diamond, sapphire, pearl...")
    origin = models.CharField(max_length=20, choices=StoneOrigin.choices, default=StoneOrigin.NATURAL)
    treatments = models.JSONField(default=list, blank=True)
    count = models.PositiveSmallIntegerField(default=1)
    carat_weight = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    colour = models.CharField(max_length=30, blank=True)
    clarity = models.CharField(max_length=10, blank=True)
    cut = models.CharField(max_length=20, blank=True)
    shape = models.CharField(max_length=30, blank=True)
    lab = models.CharField(max_length=20, blank=True, help_text="grading lab, e.g. GIA, IGI")
    report_number = models.CharField(max_length=30, blank=True)

    def __str__(self) -> str:
        return f"{self.carat_weight or ''} ct {self.origin} {self.species}".strip()


class Piece(BrandOwned):
    """One physical, serialised piece: what was shipped, and what must come back."""

    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="pieces")
    serial_number = models.CharField(max_length=64)
    inscription = models.CharField(max_length=64, blank=True, help_text="girdle inscription")
    report_number = models.CharField(max_length=30, blank=True)
    weight_g = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    status = models.CharField(max_length=20, choices=PieceStatus.choices, default=PieceStatus.IN_STOCK)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "serial_number"], name="piece_unique_brand_serial"),
        ]

    def __str__(self) -> str:
        return self.serial_number
