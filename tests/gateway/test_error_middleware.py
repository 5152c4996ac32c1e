"""The error middleware: a failure before the answer is a clean 500/503; a failure in the middle
of a streamed export cuts the connection, so the download is visibly broken, never completed
with an error message inside it."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.exc import OperationalError

from gateway.app import error_middleware
from tests.harness import free_port


async def _serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


async def test_failures_before_the_answer_are_500_or_503():
    async def broken(request):
        raise RuntimeError("bug")

    async def database_down(request):
        raise OperationalError("SELECT 1", {}, Exception("locked"))

    for handler, status in ((broken, 500), (database_down, 503)):
        runner, url = await _serve(handler)
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == status
                assert "Traceback" not in await response.text()
        finally:
            await runner.cleanup()


async def test_a_failure_mid_stream_cuts_the_download():
    async def export(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"id,nom\r\n" * 1000)
        raise RuntimeError("the database went away")

    runner, url = await _serve(export)
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200  # the headers were out before the failure
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    finally:
        await runner.cleanup()
