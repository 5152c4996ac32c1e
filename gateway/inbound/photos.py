"""A report photo as kept: the picture and nothing else.

Phones write where and when a photo was taken (EXIF GPS, time, device) into the file; for a
report on violence against women that can point at a survivor or a shelter. On receipt the
photo is decoded with Pillow, turned upright (the EXIF orientation applied), made no larger
than the report needs, and written anew without any metadata (no EXIF, XMP, IPTC, ICC or
comments). A file Pillow cannot read as an image is not kept.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 2048  # enough to see an activity; fewer bytes to keep, send and back up
JPEG_QUALITY = 85


class NotAnImage(ValueError):
    """The file is not a picture Pillow can read."""


def clean_photo(path: Path) -> Path:
    """Rewrite the photo at `path` as a bare JPEG (a PNG stays a PNG); returns its path, with
    the suffix that matches what it now is. Raises NotAnImage (the file is then removed)."""
    try:
        with Image.open(path) as opened:
            opened.load()
            picture = ImageOps.exif_transpose(opened)
            kind = "PNG" if opened.format == "PNG" else "JPEG"
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as error:
        path.unlink(missing_ok=True)
        raise NotAnImage(f"not an image ({type(error).__name__})") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    if kind == "JPEG" and picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    target = path.with_suffix(".png" if kind == "PNG" else ".jpg")
    partial = target.with_name(target.name + f".{os.getpid()}.clean")
    # Pillow writes a JPEG comment and a PNG's ICC profile from `info` unless told otherwise;
    # with it empty and no exif= given, nothing of the original's metadata is written.
    picture.info = {}
    if kind == "PNG":
        picture.save(partial, "PNG", optimize=True)
    else:
        picture.save(partial, "JPEG", quality=JPEG_QUALITY, optimize=True)
    partial.replace(target)
    if target != path:
        path.unlink(missing_ok=True)
    return target
