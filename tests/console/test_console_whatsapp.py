"""The console's compose form: WhatsApp templates per language, the window in the preview, a
refusal marking the language's template field, the next channel instead, fallback off."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Broadcast
from tests.console.test_console import account, csrf_of, sign_in
from tests.factories import add_member


async def test_compose_names_templates_and_is_refused_naming_the_language(console):
    from storage.types import utcnow

    async with console.database.transaction() as connection:
        await add_member(connection, name="Coumba", region="kayes", now=utcnow(), language="bm",
                         addresses=[("whatsapp", "+22376000003")], wrote_at=None)  # fmt: skip
    await account(console, "awa", "secretariat")
    session, _, _html, _ = await sign_in(console, "awa")
    async with session:
        async with session.get(console.url + "/console/broadcasts/new") as response:
            page = await response.text()
        assert 'name="fallback" checked' in page  # on unless unticked
        form = {
            "csrf": csrf_of(page), "text_fr": "Alerte", "regions": "kayes",
            "whatsapp_template_fr": "benkadi_alerte", "sms_gsm_safe": "on", "fallback": "on",
        }  # fmt: skip
        async with session.post(
            console.url + "/console/broadcasts/new", data={**form, "action": "preview"}
        ) as response:
            page = await response.text()
        assert response.status == 200 and 'id="preview-whatsapp"' in page
        assert 'id="whatsapp-refused"' in page and "Bamanankan (1)" in page
        async with session.post(
            console.url + "/console/broadcasts/new", data={**form, "action": "send"}
        ) as response:
            page = await response.text()
        assert response.status == 400
        assert 'name="whatsapp_template_bm" value="" class="invalid"' in page
        async with console.database.sessions() as s:
            assert (await s.scalars(select(Broadcast))).all() == []

        form = {**form, "outside_window": "next_channel", "action": "send"}
        del form["fallback"]
        async with session.post(
            console.url + "/console/broadcasts/new", data=form, allow_redirects=False
        ) as response:
            assert response.status == 302, await response.text()
        async with console.database.sessions() as s:
            [made] = (await s.scalars(select(Broadcast))).all()
        assert made.fallback is False
        assert made.whatsapp == {
            "templates": {"fr": "benkadi_alerte"}, "variables": {"1": "text"},
            "outside_window": "next_channel",
        }  # fmt: skip
