"""Report photos keep the picture and nothing else: no EXIF, no GPS, no comment, upright."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from gateway.inbound.photos import MAX_SIDE, NotAnImage, clean_photo

pytestmark = pytest.mark.unit

GPS_IFD = 0x8825


def phone_photo(width: int = 3000, height: int = 1000) -> bytes:
    """A JPEG as a phone writes it: GPS position, device, time, a comment, rotated 90°."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:11:25 10:00:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotate 90° to show
    exif[GPS_IFD] = {1: "N", 2: (12.0, 39.0, 0.0), 3: "W", 4: (8.0, 0.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"Centre d'accueil, rue 12")
    return out.getvalue()


def test_gps_and_all_metadata_are_gone_and_the_picture_is_upright(tmp_path: Path):
    original = phone_photo()
    assert b"PhoneMaker" in original and b"Centre d'accueil" in original
    path = tmp_path / "report-1.jpg.part"
    path.write_bytes(original)
    cleaned = clean_photo(path)
    assert cleaned.suffix == ".jpg" and not path.exists()
    data = cleaned.read_bytes()
    assert b"PhoneMaker" not in data and b"Centre d'accueil" not in data and b"Exif" not in data
    with Image.open(cleaned) as image:
        assert not image.getexif() and image.getexif().get_ifd(GPS_IFD) == {}
        assert "comment" not in image.info and "icc_profile" not in image.info
        assert image.size == (round(MAX_SIDE / 3), MAX_SIDE)  # turned upright, then smaller


def test_a_png_stays_a_png_without_its_text(tmp_path: Path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "Bamako, Commune IV")
    path = tmp_path / "photo.png"
    Image.new("RGB", (40, 30)).save(path, "PNG", pnginfo=info)
    cleaned = clean_photo(path)
    assert cleaned == path and b"Commune IV" not in cleaned.read_bytes()


def test_what_is_not_an_image_is_not_kept(tmp_path: Path):
    path = tmp_path / "x.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(NotAnImage):
        clean_photo(path)
    assert not path.exists()
