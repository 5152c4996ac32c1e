"""The error middleware: a domain refusal is a 4xx JSON naming the field (every bad line of a
file at once); a failure before the answer is a clean 500/503; a failure in the middle of a
streamed export cuts the connection, so the download is visibly broken, never completed with
an error message inside it."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.vocabulary.errors import Conflict, DomainError, FieldError, FieldErrors, Invalid, NotFound
from gateway.api.errors import error_middleware
from tests.harness import listening_socket

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


async def _serve(handler, path: str = "/") -> tuple[web.AppRunner, str]:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    listening = listening_socket()
    port = listening.getsockname()[1]
    await web.SockSite(runner, listening).start()
    return runner, f"http://127.0.0.1:{port}"


async def _answer(error: DomainError, path: str = "/", url_path: str = "/") -> tuple[int, dict]:
    async def refuse(request):
        raise error

    runner, url = await _serve(refuse, path)
    try:
        async with aiohttp.ClientSession() as session, session.get(url + url_path) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()
    finally:
        await runner.cleanup()


THREE_LINES = FieldErrors(
    [
        FieldError("type", "unknown kind 'ong'", source="liste.csv", line=2),
        FieldError("nom", "is empty", source="liste.csv", line=5),
        FieldError("nom", "missing", source="liste.csv", line=9),
    ]
)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (FieldError("texts.fr", "is empty"), 400, {"error": "is empty", "field": "texts.fr"}),
        (Invalid("too many at once"), 400, {"error": "too many at once"}),
        (
            FieldError("questions[4].kind", "must be choice or number", source="body", line=41),
            400,
            {
                "error": "body:41: questions[4].kind: must be choice or number",
                "field": "questions[4].kind",
                "file": "body",
                "line": 41,
            },
        ),
        (NotFound("no poll x", field="slug"), 404, {"error": "no poll x", "field": "slug"}),
        (NotFound("nothing here"), 404, {"error": "nothing here"}),
        (Conflict("broadcast 3 is cancelled: cannot send it"), 409,
         {"error": "broadcast 3 is cancelled: cannot send it"}),
    ],
)  # fmt: skip
async def test_each_kind_of_refusal_is_its_status_and_body(error, status, body):
    assert await _answer(error) == (status, body)


async def test_every_bad_line_of_a_file_is_in_the_body():
    status, body = await _answer(THREE_LINES)
    assert status == 400
    assert body["field"] == "type" and body["file"] == "liste.csv" and body["line"] == 2
    assert body["error"] == "3 errors; the first: liste.csv:2: type: unknown kind 'ong'"
    assert body["errors"] == [
        {"error": "unknown kind 'ong'", "field": "type", "file": "liste.csv", "line": 2},
        {"error": "is empty", "field": "nom", "file": "liste.csv", "line": 5},
        {"error": "missing", "field": "nom", "file": "liste.csv", "line": 9},
    ]


async def test_a_not_found_without_a_field_names_the_path_parameter():
    answer = await _answer(NotFound("no campaign 'noel'"), "/campaigns/{name}", "/campaigns/noel")
    assert answer == (404, {"error": "no campaign 'noel'", "field": "name"})


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


@pytest.mark.parametrize("failure", [RuntimeError("the database went away"), NotFound("gone")])
async def test_a_failure_mid_stream_cuts_the_download(failure):
    async def export(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"id,nom\r\n" * 1000)
        raise failure

    runner, url = await _serve(export)
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200  # the headers were out before the failure
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    finally:
        await runner.cleanup()
