"""Where an export's bytes go: an HTTP attachment (API, console) or a file or stdout (CLI).
Both stream through storage.tabular, so memory stays flat whatever the row count."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.vocabulary.errors import FieldError
from storage.tabular import FORMATS, Table, write_tables


def choice(query: Mapping[str, Any], name: str, allowed: Sequence[str], default: str) -> str:
    """A query parameter that must be one of `allowed`; a FieldError naming it otherwise."""
    value = query.get(name) or default
    if value not in allowed:
        raise FieldError(name, f"must be {' or '.join(allowed)}")
    return str(value)


async def attachment(
    request: web.Request,
    format_: str,
    filename: str,
    tables: Sequence[Table],
    *,
    compress: bool = False,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Stream the tables as `filename`.csv|xlsx; `compress`: gzip when the client accepts it."""
    content_type, extension = FORMATS[format_]
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}.{extension}"',
            **(headers or {}),
        }
    )
    if compress:
        response.enable_compression()
    await response.prepare(request)
    await write_tables(format_, tables, response.write)
    await response.write_eof()
    return response


async def to_file(output: str, format_: str, tables: Sequence[Table]) -> int:
    """Write the tables to the file `output`, or to stdout for "-"; the rows written. A file
    that cannot be opened is a FieldError on `output`."""
    if output == "-":
        out = sys.stdout.buffer

        async def to_stdout(chunk: bytes) -> None:
            out.write(chunk)

        count = await write_tables(format_, tables, to_stdout)
        out.flush()
        return count
    try:
        handle = await asyncio.to_thread(Path(output).open, "wb")
    except OSError as error:
        raise FieldError("output", f"cannot write {output}: {error.strerror or error}") from None
    with handle:

        async def to_disk(chunk: bytes) -> None:
            await asyncio.to_thread(handle.write, chunk)

        return await write_tables(format_, tables, to_disk)
