"""Shoppers' photos: only images, size-limited, stored without any metadata."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from assay.brands.models import Brand
from assay.core.errors import InvalidInput
from assay.returns import photos as photos_module
from assay.returns.models import ReturnPhoto, ReturnRequest
from assay.returns.photos import MAX_PHOTOS, photo_clean, photos_clean, return_photos_attach
from assay.returns.tests.factories import ReturnRequestFactory


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def test_the_test_photo_really_carries_gps_before_cleaning() -> None:
    original = Image.open(io.BytesIO(jpeg_with_gps()))

    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"


def test_exif_and_gps_are_gone_after_cleaning_and_the_pixels_stay() -> None:
    raw = jpeg_with_gps()

    clean = photo_clean(io.BytesIO(raw), name="ring.jpg")

    stored = Image.open(io.BytesIO(clean.content))
    assert stored.format == "JPEG"
    assert (clean.content_type, clean.extension, clean.width, clean.height) == ("image/jpeg", "jpg", 64, 48)
    assert dict(stored.getexif()) == {}
    assert stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"Exif" not in clean.content
    assert b"PhoneMaker" not in clean.content
    assert b"SN-123456" not in clean.content
    assert b"taken at home" not in clean.content
    red, green, blue = stored.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
    assert red > 180
    assert green < 60
    assert blue < 60


def test_a_photo_taken_sideways_is_turned_upright_before_its_orientation_tag_goes() -> None:
    clean = photo_clean(io.BytesIO(jpeg_with_gps(size=(64, 48), orientation=6)), name="sideways.jpg")

    assert (clean.width, clean.height) == (48, 64)


def test_png_text_chunks_are_dropped_and_transparency_kept() -> None:
    image = Image.new("RGBA", (20, 20), (0, 0, 255, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Ada Lovelace, 12 Home Street")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)

    clean = photo_clean(io.BytesIO(out.getvalue()), name="box.png")

    assert clean.content_type == "image/png"
    assert b"Ada Lovelace" not in clean.content
    stored = Image.open(io.BytesIO(clean.content))
    assert stored.mode == "RGBA"
    assert "Author" not in stored.info


def test_webp_is_accepted() -> None:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(out, format="WEBP")

    assert photo_clean(io.BytesIO(out.getvalue()), name="a.webp").content_type == "image/webp"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\n"),
        ("ring.jpg", b"MZ\x90\x00 this is a program, not a photo"),
        ("ring.jpg", b"\xff\xd8\xff\xe0 a truncated jpeg header and nothing else"),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                     b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_an_accepted_image_is_refused_whatever_its_name(name: str, content: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        photo_clean(io.BytesIO(content), name=name)

    assert refused.value.message == f"“{name}” is not a photo we can read; please send a JPEG, PNG or WebP image."


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="is empty"):
        photo_clean(io.BytesIO(b""), name="empty.jpg")


def test_a_file_over_ten_megabytes_is_refused_before_it_is_decoded() -> None:
    big = b"\xff\xd8" + b"\x00" * (10 * 1024 * 1024)

    with pytest.raises(InvalidInput) as refused:
        photo_clean(io.BytesIO(big), name="huge.jpg")

    assert refused.value.message == "“huge.jpg” is larger than 10 MB; please send a smaller photo."
    with pytest.raises(InvalidInput, match="larger than 10 MB"):
        photo_clean(io.BytesIO(b"small"), name="declared.jpg", size=11 * 1024 * 1024)


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header announcing width x height, with a tiny compressed body of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])  # 1-bit grey
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (60_000, 60_000)])
def test_a_decompression_bomb_is_refused_without_decoding_it(width: int, height: int) -> None:
    bomb = _png_bomb(width, height)
    assert len(bomb) < 10_000

    with pytest.raises(InvalidInput) as refused:
        photo_clean(io.BytesIO(bomb), name="bomb.png")

    assert "too large an image" in refused.value.message


def test_a_big_photo_is_scaled_down_to_the_stored_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos_module, "MAX_SIDE", 32)
    out = io.BytesIO()
    Image.new("RGB", (128, 64)).save(out, format="PNG")

    clean = photo_clean(io.BytesIO(out.getvalue()), name="wide.png")

    assert (clean.width, clean.height) == (32, 16)


def test_more_than_five_photos_are_refused() -> None:
    files = [SimpleUploadedFile(f"{n}.jpg", jpeg_with_gps(), content_type="image/jpeg") for n in range(MAX_PHOTOS + 1)]

    with pytest.raises(InvalidInput, match="at most 5 photos"):
        photos_clean(files)


@pytest.mark.django_db
def test_attached_photos_are_stored_under_random_names_without_metadata(
    brand: Brand, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    request: ReturnRequest = ReturnRequestFactory(brand=brand)  # type: ignore[assignment]
    upload = SimpleUploadedFile("IMG_2024_home.jpg", jpeg_with_gps(), content_type="image/jpeg")

    [photo] = return_photos_attach(brand_id=brand.pk, request_id=request.pk, photos=photos_clean([upload]))

    assert ReturnPhoto.objects.filter(request=request).count() == 1
    name = photo.image.name or ""
    assert "IMG_2024_home" not in name
    assert name.endswith(".jpg")
    stored = (tmp_path / name).read_bytes()
    assert b"Exif" not in stored
    assert len(stored) == photo.size_bytes
    assert (photo.width, photo.height, photo.content_type) == (64, 48, "image/jpeg")
