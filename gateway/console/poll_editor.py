"""The poll editor: create or edit a draft (until launch), see each question as SMS and in
Telegram before saving, duplicate an old poll, launch now or let the scheduler open it on its
date, close early, import and export the TOML/JSON file.

The form becomes the poll file's fields (gateway/console/poll_form.py) and goes through the
same parse_poll_json as the API, so the console refuses what the API refuses. Each save names
the revision it was opened at: a save over someone else's is refused ("modifié entre-temps")
with the form kept as typed. Mounted by gateway/console/polls.py (before its /polls/{slug}).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.vocabulary.errors import Conflict, FieldError, Invalid
from bot.vocabulary.i18n import LANGUAGES
from broadcasts.polls import editing
from broadcasts.polls import service as poll_service
from broadcasts.polls.definition_file import file_form, to_toml
from broadcasts.polls.model import DIMENSIONS, KINDS, Poll
from broadcasts.polls.parse import PollError, parse_poll, parse_poll_json
from broadcasts.polls.preview import preview
from gateway.api.polls import SLUG
from gateway.console import poll_errors, poll_form
from gateway.console.auth import page
from gateway.console.broadcasts import choices, enabled
from gateway.console.i18n import C_
from gateway.console.keys import PREFIX, Who
from gateway.keys import CLOCK, DATABASE, DISPATCHER
from storage.poll_drafts import NeverOpens, PollChanged, PollNotDraft, SlugTaken
from storage.types import utcnow

MISSING = C_("Ce sondage n'existe pas.")
KIND_LABELS = {
    "single": C_("Un seul choix"),
    "multiple": C_("Plusieurs choix"),
    "number": C_("Nombre"),
    "yes_no": C_("Oui / non"),
    "text": C_("Texte court"),
}
DIMENSION_LABELS = {
    "technical": C_("technique"),
    "organisational": C_("organisationnelle"),
    "operational": C_("opérationnelle"),
}
CHANGED = C_(
    "Ce sondage a été modifié entre-temps par quelqu'un d'autre : rien n'a été enregistré. "
    "Rouvrez-le pour voir sa version actuelle (gardez vos changements ci-dessous)."
)


def _now(request: web.Request) -> datetime:
    """The app's time (a test clock in tests), so "launch now" agrees with the scheduler."""
    return request.config_dict.get(CLOCK, utcnow)()


def _render(
    request: web.Request, form: Any, *, editing_slug: str | None, status: int = 200, **extra: Any
) -> web.StreamResponse:
    context = {
        "form": form,
        "get": lambda name, default="": form.get(name, default) or default,
        "many": lambda name: (
            list(form.getall(name, [])) if hasattr(form, "getall") else list(form.get(name, []))
        ),
        "questions": poll_form._count(form, "questions", 1),
        "option_count": lambda n: poll_form._count(form, f"q{n}_options", poll_form.SPARE_OPTIONS),
        "choices": choices(),
        "languages": LANGUAGES,
        "kinds": {k: KIND_LABELS[k] for k in KINDS},
        "dimensions": {k: DIMENSION_LABELS[k] for k in DIMENSIONS},
        "editing": editing_slug,
        "errors": {},
        "preview": None,
        "saved": bool(request.query.get("saved")),
        **extra,
    }
    if context["errors"] and status == 200:
        status = 400
    return aiohttp_jinja2.render_template("poll_edit.html", request, context, status=status)


def _grown(form: Any, more: bool) -> dict[str, Any]:
    """The posted form with a spare question and spare choices to fill (one more if asked)."""
    grown: dict[str, Any] = {}
    for key in set(form.keys()):
        values = form.getall(key)
        grown[key] = (
            values if len(values) > 1 or key in choices() or key in _AUDIENCE else values[0]
        )
    questions = poll_form._count(form, "questions", 1)
    grown["questions"] = str(questions + (1 if more else 0))
    for n in range(questions + 1):
        count = poll_form._count(form, f"q{n}_options", poll_form.SPARE_OPTIONS)
        grown[f"q{n}_options"] = str(count + (poll_form.SPARE_OPTIONS if more else 0))
    return grown


class _Form(dict[str, Any]):
    """A dict that answers getall like the posted form (for the audience boxes)."""

    def getall(self, key: str, default: Any = ()) -> list[Any]:
        value = self.get(key)
        if value is None:
            return list(default)
        return value if isinstance(value, list) else [value]


_AUDIENCE = (
    "regions",
    "themes",
    "languages",
    "organisation_kinds",
    "channels",
    "sexes",
    "age_bands",
)


def _parsed(form: Any) -> tuple[Poll | None, dict[str, str]]:
    data, errors = poll_form.read(form)
    if errors:
        return None, errors
    try:
        return parse_poll_json(data), {}
    except FieldError as error:
        field = poll_form.field_of(error.field or "")
        return None, {field: poll_form.parser_message(error.field or "", error.message)}


@page("secretariat")
async def new(request: web.Request, who: Who) -> web.StreamResponse:
    source = request.query.get("from")
    if source:  # duplicate: the old poll's texts and questions, a new identifier and dates
        row = await poll_service.poll_row(request.config_dict[DATABASE], source)
        form = _Form(poll_form.form_of(Poll.from_json(row.definition)))
        for key in ("slug", "opens", "closes"):
            form.pop(key, None)
    else:
        form = _Form({"sms_gsm_safe": "on", "questions": "1", "q0_kind": "single"})
    return _render(request, form, editing_slug=None)


@page("secretariat", missing=MISSING)
async def edit(request: web.Request, who: Who) -> web.StreamResponse:
    row = await poll_service.poll_row(request.config_dict[DATABASE], request.match_info["slug"])
    if row.status != "draft":  # edited until launch; after, its page (results, duplicate)
        raise web.HTTPFound(f"{PREFIX}/polls/{row.slug}")
    form = _Form(poll_form.form_of(Poll.from_json(row.definition), row.revision))
    return _render(request, form, editing_slug=row.slug, row=row)


@page("secretariat", missing=MISSING)
async def save(request: web.Request, who: Who) -> web.StreamResponse:
    posted = await request.post()
    slug = request.match_info.get("slug")
    database = request.config_dict[DATABASE]
    row = await poll_service.poll_row(database, slug) if slug else None
    action = str(posted.get("action", "preview"))
    form = _Form(_grown(posted, more=action == "more"))
    if slug:
        form["slug"] = slug  # the identifier of a saved poll does not change
    if action == "more":
        return _render(request, form, editing_slug=slug, row=row)
    poll, errors = _parsed(form)
    if poll is None:
        first = next(iter(errors.values()))
        return _render(request, form, editing_slug=slug, row=row, errors=errors | {"form": first})
    if action == "preview":
        return _render(request, form, editing_slug=slug, row=row, preview=preview(poll))
    typed = str(posted.get("revision") or "")
    # A revision that is not a number matches none: refused as "modifié entre-temps", not a 500.
    revision = (int(typed) if typed.isdecimal() else -1) if slug and typed else None
    try:
        saved = await editing.save_draft(database, poll, who.actor, _now(request), revision)
    except PollNotDraft as error:  # launched meanwhile: nothing saved
        return _render(
            request, form, editing_slug=slug, row=row, status=409,
            errors={"form": conflict_text(error)},
        )  # fmt: skip
    except PollChanged:
        return _render(
            request, form, editing_slug=slug, row=row, status=409,
            errors={"form": CHANGED, "revision": CHANGED},
        )  # fmt: skip
    except SlugTaken:
        text = C_("Un sondage porte déjà cet identifiant : choisissez-en un autre.")
        return _render(
            request, form, editing_slug=slug, row=row, errors={"slug": text, "form": text}
        )
    raise web.HTTPFound(f"{PREFIX}/polls/{saved['slug']}/edit?saved=1")


def _wake(request: web.Request) -> None:
    dispatcher = request.config_dict.get(DISPATCHER)
    if dispatcher is not None:
        dispatcher.wake()


def conflict_text(error: Conflict) -> str:
    """A poll's state refusing an action, in French (the API says it in English)."""
    if isinstance(error, NeverOpens):
        if error.field == "opens":
            return C_(
                "Sans date d'ouverture, ce sondage n'ouvrirait jamais : donnez-en une, "
                "enregistrez, puis programmez-le."
            )
        return C_("Sa date de clôture est passée : programmé, il n'ouvrirait jamais.")
    if isinstance(error, PollNotDraft | poll_service.PollLaunched):
        return C_("Ce sondage est déjà lancé : il ne peut plus être modifié ni relancé.")
    if isinstance(error, poll_service.PollNotYetOpen):
        return C_(
            "Ce sondage ouvre à sa date : lancez-le à partir de là, ou programmez son ouverture."
        )
    if isinstance(error, poll_service.PollClosed):
        return C_("Ce sondage est clos.")
    if isinstance(error, poll_service.PollNotLaunched):
        return C_("Ce sondage n'est pas lancé : il n'y a rien à clore.")
    if isinstance(error, PollChanged):
        return CHANGED
    return C_("L'état du sondage ne le permet pas.")


@page("secretariat", missing=MISSING)
async def act(request: web.Request, who: Who) -> web.StreamResponse:
    """Launch now, schedule (open on its date) or not, close early. A refusal comes back in
    French: on the draft's page with the field marked, else as the refusal page."""
    posted = await request.post()
    database, slug = request.config_dict[DATABASE], request.match_info["slug"]
    verb = str(posted.get("verb", ""))
    try:
        if verb == "launch":
            channels = enabled(request)
            await poll_service.launch(
                database, slug, who.actor, enabled_channels=channels, now=_now(request)
            )
            _wake(request)
            raise web.HTTPFound(f"{PREFIX}/polls/{slug}")
        if verb in ("schedule", "unschedule"):
            await editing.schedule(database, slug, verb == "schedule", who.actor, _now(request))
            raise web.HTTPFound(f"{PREFIX}/polls/{slug}/edit")
        if verb == "close":
            await poll_service.close(database, slug, who.actor, _now(request))
            raise web.HTTPFound(f"{PREFIX}/polls/{slug}")
    except Conflict as error:
        text = conflict_text(error)
        row = await poll_service.poll_row(database, slug)
        if row.status != "draft":
            raise Conflict(text) from None
        form = _Form(poll_form.form_of(Poll.from_json(row.definition), row.revision))
        errors = {"form": text, **({error.field: text} if error.field else {})}
        return _render(request, form, editing_slug=slug, row=row, errors=errors, status=409)
    raise web.HTTPBadRequest(text=C_("Action inconnue."))


@page("viewer", missing=MISSING)
async def export_definition(request: web.Request, who: Who) -> web.StreamResponse:
    row = await poll_service.poll_row(request.config_dict[DATABASE], request.match_info["slug"])
    poll = Poll.from_json(row.definition)
    if request.path.endswith(".toml"):
        body, kind = to_toml(poll), "application/toml"
    else:
        body, kind = (
            json.dumps(file_form(poll), ensure_ascii=False, indent=2) + "\n",
            "application/json",
        )
    response = web.Response(text=body, content_type=kind, charset="utf-8")
    name = f"{row.slug}.{request.path.rsplit('.', 1)[-1]}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Twice(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each there once (json.loads keeps the last, silently)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Twice(key)
        found[key] = value
    return found


def _file_message(error: PollError) -> str:
    """A poll file's mistake, in French, at its line and field (as the file names it)."""
    if error.field == "toml":
        return poll_errors.toml_syntax(error.message, error.line)
    said = {"field": error.field, "message": poll_errors.french(error.field or "", error.message)}
    if error.line is None:
        return C_("%(field)s : %(message)s") % said
    return C_("Ligne %(line)s, %(field)s : %(message)s") % {**said, "line": error.line}


@page("secretariat")
async def import_file(request: web.Request, who: Who) -> web.StreamResponse:
    """A TOML or JSON poll file: a new draft, or the new-poll page naming the bad line, in
    French; nothing saved."""
    posted = await request.post()
    upload = posted.get("file")
    raw = upload.file.read() if isinstance(upload, web.FileField) else b""
    name = getattr(upload, "filename", "") or "poll.toml"
    try:
        poll = _read_file(raw, name)
        saved = await editing.save_draft(
            request.config_dict[DATABASE], poll, who.actor, _now(request), None
        )
    except Invalid as error:
        text = error.message
    except SlugTaken:
        text = C_("Un sondage porte déjà cet identifiant : choisissez-en un autre.")
    else:
        raise web.HTTPFound(f"{PREFIX}/polls/{saved['slug']}/edit")
    form = _Form({"sms_gsm_safe": "on", "questions": "1", "q0_kind": "single"})
    return _render(request, form, editing_slug=None, errors={"file": text, "form": text})


def _read_file(raw: bytes, name: str) -> Poll:
    """The poll in an uploaded file, or Invalid with a French message (field "file")."""
    try:
        text = raw.decode("utf-8")
        if name.endswith(".json"):
            return parse_poll_json(json.loads(text, object_pairs_hook=_once))
        return parse_poll(text, name)
    except _Twice as twice:
        raise Invalid(
            C_("La clé « %(key)s » apparaît deux fois dans le fichier.") % {"key": twice.key},
            field="file",
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise Invalid(
            C_("Le fichier doit être un sondage TOML ou JSON en UTF-8."), field="file"
        ) from None
    except PollError as error:
        raise Invalid(_file_message(error), field="file") from None


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/polls/new", new, name="poll_new")
    add.add_post("/polls/new", save)
    add.add_post("/polls/import", import_file)
    add.add_get(f"/polls/{SLUG}/edit", edit, name="poll_edit")
    add.add_post(f"/polls/{SLUG}/edit", save)
    add.add_post(f"/polls/{SLUG}/act", act)
    add.add_get(f"/polls/{SLUG}/definition.toml", export_definition)
    add.add_get(f"/polls/{SLUG}/definition.json", export_definition)
