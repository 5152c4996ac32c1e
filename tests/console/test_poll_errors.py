"""The poll definition parser's refusals reach the secretariat in French, on the right field,
with nothing saved: each bad definition below goes through the real parser (as the form, an
import or the API send it), and its English message must come back as a French sentence on the
form field it is about. Then the same through the console over HTTP: the form, an imported
TOML or JSON file (malformed, duplicate keys, an unknown kind), and the actions a poll's state
refuses (schedule one that would never open, launch before its date, close twice)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from broadcasts.polls import service as poll_service
from broadcasts.polls.parse import PollError, parse_poll, parse_poll_json
from gateway.console import poll_errors, poll_form
from storage.models import Poll as PollRow
from tests.console.test_console import account, csrf_of, get_page, sign_in
from tests.console.test_poll_editor import NEW, post, three_questions

# Words of the parser's English that must not reach the page.
ENGLISH = re.compile(
    r"\b(must|needs|unknown|known|is|the|of|at least|at most|one of|already|taken|"
    r"options)\b(?! [«(])"
)

GOOD = {
    "slug": "rapports-2027",
    "title": {"fr": "Rapports 2027"},
    "invitation": {"fr": "Benkadi : 3 questions. Envoyez SONDAGE."},
    "opens": "2027-01-05T09:00:00+00:00",
    "closes": "2027-01-20T18:00:00+00:00",
    "questions": [
        {"key": "rapport", "kind": "yes_no", "text": {"fr": "Un rapport ce mois-ci ?"}},
        {"key": "combien", "kind": "number", "text": {"fr": "Combien ?"}, "min": 0, "max": 50,
         "ask_if": {"question": "rapport", "in": ["yes"]}},
        {"key": "canal", "kind": "single", "text": {"fr": "Par quel moyen ?"},
         "options": [{"key": "sms", "text": {"fr": "SMS"}}, {"key": "papier", "text": "Papier"}]},
    ],
}  # fmt: skip


def changed(edit) -> dict:
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


def q(n):
    return lambda data: data["questions"][n]


# (what is wrong, the definition, the form field marked, a piece of the French sentence)
CASES = [
    ("a question without French text",
     changed(lambda d: q(2)(d).update(text={"bm": "Fɛɛrɛ jumɛn ?"})), "q2_text_fr",
     "français est obligatoire"),
    ("a choice list with one choice",
     changed(lambda d: q(2)(d).update(options=[{"key": "sms", "text": "SMS"}])), "q2_options",
     "au moins deux choix"),
    ("a condition on a later question",
     changed(lambda d: q(1)(d).update(ask_if={"question": "canal", "in": ["sms"]})), "q1_if",
     "question précédente"),
    ("a closing date before the opening",
     changed(lambda d: d.update(closes="2027-01-01T09:00:00+00:00")), "closes",
     "après l'ouverture"),
    ("an invitation over 2 SMS",
     changed(lambda d: d.update(invitation={"fr": "Très long texte à envoyer. " * 20})),
     "invitation_fr", "SMS (au plus 2)"),
    ("a question over one SMS",
     changed(lambda d: q(0)(d).update(text={"fr": "Très long texte à envoyer. " * 7})),
     "q0_text_fr", "tenir en un SMS"),
    ("an unknown question kind",
     changed(lambda d: q(2)(d).update(kind="likert")), "q2_kind", "Type de question inconnu"),
    ("two questions with one key",
     changed(lambda d: q(2)(d).update(key="rapport")), "q2_key", "« rapport » est déjà"),
    ("two choices with one key",
     changed(lambda d: q(2)(d)["options"][1].update(key="sms")), "q2_o1_key",
     "« sms » est déjà prise"),
    ("a choice key reserved for the buttons",
     changed(lambda d: q(2)(d)["options"][1].update(key="done")), "q2_o1_key", "réservée"),
    ("a key with a space",
     changed(lambda d: q(0)(d).update(key="Rapport 1")), "q0_key", "lettres minuscules"),
    ("a condition on a choice the question has not",
     changed(lambda d: q(1)(d).update(ask_if={"question": "rapport", "in": ["peut-etre"]})),
     "q1_if", "pas un choix"),
    ("a condition without values",
     changed(lambda d: q(1)(d).update(ask_if={"question": "rapport", "in": []})), "q1_if",
     "citer un ou plusieurs choix"),
    ("a condition on a number without at_least",
     changed(lambda d: q(2)(d).update(ask_if={"question": "combien", "in": ["3"]})), "q2_if",
     "au moins"),
    ("a malformed condition",
     changed(lambda d: q(1)(d).update(ask_if="rapport")), "q1_if", "Condition mal formée"),
    ("an unknown dimension",
     changed(lambda d: q(0)(d).update(dimension="financiere")), "q0_dimension",
     "Dimension inconnue"),
    ("a number question without its range",
     changed(lambda d: q(1)(d).pop("max")), "q1_min", "minimum et un maximum"),
    ("a range on a choice question",
     changed(lambda d: q(2)(d).update(min=1)), "q2_min", "Seule une question « Nombre »"),
    ("options on a number question",
     changed(lambda d: q(1)(d).update(options=[])), "q1_options", "n'a pas de choix"),
    ("a score that is not a number",
     changed(lambda d: q(2)(d)["options"][0].update(score="beaucoup")), "q2_o0_score",
     "Doit être un nombre"),
    ("an unknown field",
     changed(lambda d: q(0)(d).update(texte="Un rapport ?")), "q0_texte", "Champ inconnu"),
    ("a text in an unknown language",
     changed(lambda d: q(0)(d).update(text={"fr": "Un rapport ?", "xx": "?"})), "q0_text_xx",
     "Langue inconnue"),
    ("an opening date that is no date",
     changed(lambda d: d.update(opens="demain")), "opens", "Date invalide"),
    ("a reminder day without its text",
     changed(lambda d: d.update(reminder_days=3)), "reminder_days", "Un rappel demande"),
    ("no question at all",
     changed(lambda d: d.update(questions=[])), "questions", "au moins une question"),
    ("an unknown region in the audience",
     changed(lambda d: d.update(audience={"regions": ["atlantide"]})), "audience",
     "atlantide inconnu"),
    ("a registration date that is no date",
     changed(lambda d: d.update(audience={"registered_since": "hier"})), "registered_since",
     "Une date, AAAA-MM-JJ"),
    ("a bad identifier",
     changed(lambda d: d.update(slug="Rapports 2027")), "slug", "Identifiant"),
    ("an optional flag that is not a flag",
     changed(lambda d: q(0)(d).update(optional="oui")), "q0_optional", "vrai ou faux"),
]  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(("what", "data", "field", "french"), CASES, ids=[c[0] for c in CASES])
def test_each_refusal_of_the_parser_is_said_in_french_on_its_field(what, data, field, french):
    with pytest.raises(PollError) as refused:
        parse_poll_json(data)
    error = refused.value
    said = poll_form.parser_message(error.field or "", error.message)
    assert poll_form.field_of(error.field or "") == field, (error.field, error.message)
    assert french in said, (error.message, said)
    assert said != poll_errors.french("", "not a message of the parser")  # not the catch-all
    assert not ENGLISH.search(said.split("(")[0]), said


@pytest.mark.unit
def test_a_message_nobody_foresaw_is_still_french():
    assert poll_errors.french("questions[1].x", "some new complaint") == (
        "Cette valeur n'est pas acceptée."
    )


@pytest.mark.unit
def test_toml_syntax_and_duplicate_keys_in_french_at_their_line():
    for text, piece in (
        ('slug = "a"\nslug = "b"\n', "apparaît deux fois"),
        ('slug = "a"\ntitle = \n', "pas du TOML valable"),
    ):
        with pytest.raises(PollError) as refused:
            parse_poll(text, "sondage.toml")
        said = poll_errors.toml_syntax(refused.value.message, refused.value.line)
        assert said.startswith("Ligne 2 : ") and piece in said


async def polls_count(console) -> int:
    async with console.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(PollRow))


async def upload(session, console, html: str, name: str, body: bytes):
    data = aiohttp.FormData()
    data.add_field("csrf", csrf_of(html))
    data.add_field("file", body, filename=name, content_type="application/octet-stream")
    async with session.post(
        console.url + "/console/polls/import", data=data, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def test_the_console_says_each_refusal_in_french_and_saves_nothing(console):
    await account(console, "awa", "secretariat")
    session, *_ = await sign_in(console, "Awa")
    async with session:
        _, html, _ = await get_page(session, console.url + NEW)
        csrf = csrf_of(html)
        # The form: mistakes only the parser sees (the form's own checks pass).
        for changes, field, french in (
            ({"q2_kind": "likert"}, "q2_kind", "Type de question inconnu"),
            ({"q2_key": "rapport"}, "q2_key", "« rapport » est déjà celle"),
            ({"q2_o1_key": "sms"}, "q2_o1_key", "« sms » est déjà prise"),
            ({"q1_if_in": "peut-etre"}, "q1_if", "pas un choix de la question visée"),
            ({"q0_key": "Rapport 1", "q1_if": "Rapport 1"}, "q0_key", "lettres minuscules"),
        ):
            status, page, _ = await post(
                session, console.url + NEW, three_questions(csrf, **changes)
            )
            assert status == 400, changes
            marked = re.search(rf'id="error-{field}">([^<]*)<', page)
            assert marked and french in marked.group(1).replace("&#39;", "'"), (changes, page)
            assert "must" not in page and "questions[" not in page
        # Imports: malformed TOML, duplicate keys (TOML and JSON), not an object, a bad kind.
        for name, body, french in (
            ("s.toml", b'slug = "a"\ntitle = \n', "Ligne 2 : ce n&#39;est pas du TOML valable"),
            ("s.toml", b'slug = "a"\nslug = "b"\n', "Ligne 2 : une clé ou une table apparaît deux"),
            ("s.json", b'{"slug": "a", "slug": "b"}', "La clé « slug » apparaît deux fois"),
            ("s.json", b"[1, 2]", "sondage TOML ou JSON en UTF-8"),
            ("s.json", b"{not json", "sondage TOML ou JSON en UTF-8"),
            ("s.toml", "\xff".encode("latin-1"), "sondage TOML ou JSON en UTF-8"),
            ("s.toml",
             b'slug = "a"\ntitle = "T"\ninvitation = "I"\n[[questions]]\nkey = "k"\n'
             b'kind = "likert"\ntext = "Q ?"\n', "Ligne 6, questions[1].kind : Type de question"),
        ):  # fmt: skip
            status, page = await upload(session, console, html, name, body)
            assert status == 400, (name, body)
            assert 'id="error-file"' in page and french in page, (body, page)
        assert await polls_count(console) == 0

        # A draft with no opening date cannot be scheduled: it would never open.
        form = three_questions(csrf, opens="", closes="")
        status, _, _ = await post(session, console.url + NEW, form)
        assert status == 302
        act = console.url + "/console/polls/rapport-2027/act"
        status, page, _ = await post(session, act, {"csrf": csrf, "verb": "schedule"})
        assert status == 409 and "n&#39;ouvrirait jamais" in page and 'id="form-error"' in page
        row = await poll_service.poll_row(console.database, "rapport-2027")
        assert not row.open_on_schedule
        # Nor one whose closing date is past; launching before the opening date is refused.
        past = datetime.now(UTC) - timedelta(days=2)
        edit = three_questions(
            csrf, revision=str(row.revision),
            opens=(past - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            closes=past.strftime("%Y-%m-%dT%H:%M"),
        )  # fmt: skip
        status, _, _ = await post(session, console.url + "/console/polls/rapport-2027/edit", edit)
        assert status == 302
        status, page, _ = await post(session, act, {"csrf": csrf, "verb": "schedule"})
        assert status == 409 and "clôture est passée" in page
        assert 'id="error-closes"' in page
        status, page, _ = await post(session, act, {"csrf": csrf, "verb": "launch"})
        assert status == 409 and "Ce sondage est clos." in page
        later = datetime.now(UTC) + timedelta(days=3)
        row = await poll_service.poll_row(console.database, "rapport-2027")
        edit = three_questions(
            csrf, revision=str(row.revision), opens=later.strftime("%Y-%m-%dT%H:%M"),
            closes=(later + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        )  # fmt: skip
        status, _, _ = await post(session, console.url + "/console/polls/rapport-2027/edit", edit)
        assert status == 302
        status, page, _ = await post(session, act, {"csrf": csrf, "verb": "launch"})
        assert status == 409 and "ouvre à sa date" in page
        row = await poll_service.poll_row(console.database, "rapport-2027")
        assert row.status == "draft" and not row.open_on_schedule

        # Launched: a save is refused in French; closing twice too.
        async with console.database.transaction() as connection:
            await connection.execute(
                PollRow.__table__.update().values(opens_at=None, closes_at=None)
            )
        status, _, location = await post(session, act, {"csrf": csrf, "verb": "launch"})
        assert status == 302, location
        stale = three_questions(csrf, revision=str(row.revision + 1), title_fr="Autre")
        status, page, _ = await post(
            session, console.url + "/console/polls/rapport-2027/edit", stale
        )
        assert status == 409 and "déjà lancé" in page
        status, _, _ = await post(session, act, {"csrf": csrf, "verb": "close"})
        assert status == 302
        status, page, _ = await post(session, act, {"csrf": csrf, "verb": "close"})
        assert status == 409 and "Ce sondage est clos." in page and "closed" not in page


async def test_the_api_refuses_an_invitation_over_two_sms_naming_the_field(console):
    """The API says it structured (field and message), as it says every refusal; the same
    definition the form would refuse, so the console refuses what the API refuses."""
    headers = await console.bearer("secretariat")
    data = changed(lambda d: d.update(invitation={"fr": "Très long texte. " * 40}))
    async with console.http.post(
        console.url + "/api/v1/polls", json=data, headers=headers
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["field"] == "invitation.fr" and "at most 2" in body["error"]
    assert await polls_count(console) == 0


async def test_the_api_refuses_a_key_given_twice_in_a_definition(console):
    headers = await console.bearer("secretariat") | {"Content-Type": "application/json"}
    text = '{"slug": "a", "slug": "b", "title": "T"}'
    async with console.http.post(
        console.url + "/api/v1/polls", data=text, headers=headers
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["field"] == "body" and "'slug' is given twice" in body["error"]
    async with console.http.post(
        console.url + "/api/v1/polls", data="{not json", headers=headers
    ) as response:
        assert response.status == 400 and (await response.json())["field"] == "body"
    assert await polls_count(console) == 0
