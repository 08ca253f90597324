"""Shoppers' photos: only real images, size-limited, decoded and re-encoded so that no metadata
(EXIF with GPS position, camera serial numbers, XMP, PNG text chunks) is ever stored.

Pillow decodes every upload; a file it cannot decode as one of the accepted formats is refused,
whatever its name or declared type says. Decompression bombs (a small file that expands to a
huge bitmap) are refused before their pixels are decoded.
"""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from assay.core.errors import InvalidInput
from assay.returns.models import ReturnPhoto

MAX_PHOTOS = 5
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera's full frame; anything larger is refused undecoded
MAX_SIDE = 4096  # stored photos are scaled down to this on their longest side

# Pillow format -> (stored format, content type, extension). HEIC/HEIF count only where a Pillow
# plugin (pillow-heif) has registered a decoder; they are stored as JPEG, which every browser shows.
_STORED = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),  # phones' multi-picture JPEGs: the first frame is the photo
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
    "HEIC": ("JPEG", "image/jpeg", "jpg"),
}


def accepted_formats() -> tuple[str, ...]:
    """The formats this installation's Pillow can decode, in words for the shopper."""
    names = ["JPEG", "PNG", "WebP"]
    if "HEIF" in Image.OPEN or "HEIC" in Image.OPEN:
        names.append("HEIC")
    return tuple(names)


def accepted_content_types() -> str:
    """For an <input type=file accept=...> hint; the server decides regardless."""
    types = ["image/jpeg", "image/png", "image/webp"]
    if len(accepted_formats()) > 3:
        types += ["image/heic", "image/heif"]
    return ",".join(types)


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """A photo as it will be stored: re-encoded pixels only."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int

    @property
    def size_bytes(self) -> int:
        return len(self.content)


def _formats_in_words() -> str:
    names = accepted_formats()
    return ", ".join(names[:-1]) + " or " + names[-1]


def photo_clean(file: IO[bytes], *, name: str = "photo", size: int | None = None) -> CleanPhoto:
    """Decode an uploaded image and re-encode it without metadata; InvalidInput with a message the
    shopper can act on for anything that is not an accepted, reasonably sized image."""
    label = f"“{name[:80]}”"
    if size is not None and size > MAX_BYTES:
        raise InvalidInput(f"{label} is larger than {MAX_BYTES // (1024 * 1024)} MB; please send a smaller photo.")
    raw = file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InvalidInput(f"{label} is larger than {MAX_BYTES // (1024 * 1024)} MB; please send a smaller photo.")
    if not raw:
        raise InvalidInput(f"{label} is empty.")
    not_an_image = f"{label} is not a photo we can read; please send a {_formats_in_words()} image."
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here every bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw))
            source_format = (image.format or "").upper()
            if source_format not in _STORED or (source_format in ("HEIF", "HEIC") and len(accepted_formats()) < 4):
                raise InvalidInput(not_an_image)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput(
                    f"{label} is too large an image ({width} x {height} pixels); please send a smaller photo."
                )
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidInput(f"{label} is too large an image; please send a smaller photo.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise InvalidInput(not_an_image) from None
    stored_format, content_type, extension = _STORED[source_format]
    return _reencode(image, stored_format=stored_format, content_type=content_type, extension=extension)


def _reencode(image: Image.Image, *, stored_format: str, content_type: str, extension: str) -> CleanPhoto:
    # Turn the pixels the way the camera's orientation tag says, because the tag itself goes.
    upright = ImageOps.exif_transpose(image) or image
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if stored_format == "JPEG":
        pixels = upright.convert("RGB")
    elif upright.mode in ("RGB", "RGBA") or (stored_format == "PNG" and upright.mode in ("L", "LA")):
        pixels = upright
    else:
        pixels = upright.convert("RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB")
    # A fresh image holds pixels only: no info dict, so no exif, xmp, icc_profile or text chunks.
    bare = Image.new(pixels.mode, pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    options: dict[str, Any] = {"JPEG": {"quality": 88, "optimize": True}, "WEBP": {"quality": 88}}.get(
        stored_format, {"optimize": True}
    )
    bare.save(out, format=stored_format, **options)
    return CleanPhoto(
        content=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=bare.size[0],
        height=bare.size[1],
    )


def photos_clean(files: Sequence[IO[bytes]]) -> list[CleanPhoto]:
    """Clean a shopper's uploads (at most MAX_PHOTOS); the first bad one stops all with its reason."""
    if len(files) > MAX_PHOTOS:
        raise InvalidInput(f"Please send at most {MAX_PHOTOS} photos.")
    return [
        photo_clean(file, name=str(getattr(file, "name", "") or "photo"), size=getattr(file, "size", None))
        for file in files
    ]


@transaction.atomic
def return_photos_attach(
    *, brand_id: int, request_id: int, photos: Sequence[CleanPhoto], line_id: int | None = None
) -> list[ReturnPhoto]:
    """Store cleaned photos with a return request (and optionally one of its lines)."""
    stored = []
    for photo in photos:
        row = ReturnPhoto(
            brand_id=brand_id,
            request_id=request_id,
            line_id=line_id,
            content_type=photo.content_type,
            width=photo.width,
            height=photo.height,
            size_bytes=photo.size_bytes,
        )
        # A random name: the shopper's file name may itself carry personal data.
        row.image.save(f"{uuid.uuid4().hex}.{photo.extension}", ContentFile(photo.content), save=False)
        row.save()
        stored.append(row)
    return stored
