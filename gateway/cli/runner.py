"""What every database-backed CLI command shares: the migrated database, and domain errors
turned into one line on stderr that names the field (exit code 2)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Sequence

from gateway.settings import Settings
from storage.database import Database
from storage.migrate import current_revision

# (error class, how to name its field and message) — the first that matches wins.
ErrorTable = Sequence[tuple[type[Exception], Callable[[Exception], tuple[str, str]]]]


def fail(field_name: str, message: str) -> int:
    """One line on stderr; a message that names its own place (FILE:LINE: …) comes as it is."""
    print(f"benkadi: {field_name}: {message}" if field_name else message, file=sys.stderr)
    return 2


async def run_on_database(
    settings: Settings, work: Callable[[Database], Awaitable[int]], errors: ErrorTable = ()
) -> int:
    """Run `work` on the configured database, which must be migrated already."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines would mix with ours
    database = Database(settings.database_url)
    try:
        if await current_revision(database.engine) is None:
            return fail("database", "no schema yet; run `benkadi db upgrade` first")
        return await work(database)
    except BrokenPipeError:  # `benkadi … | head`: the reader has all it wanted
        sys.stderr.close()
        return 0
    except tuple(kind for kind, _ in errors) as error:
        describe = next(describe for kind, describe in errors if isinstance(error, kind))
        return fail(*describe(error))
    finally:
        await database.dispose()
