"""Numbers, dates and the audit log's details as a French page writes them, with Babel: "66,7 %",
"1 234", "1 déc. 2026, 12:30". Installed as template filters; the locale is the console's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from gateway.console.i18n import C_, LANGUAGE, label

NBSP = "\u00a0"


def number(value: float | int | None, digits: int = 1) -> str:
    """1 234 ; 66,7 (at most `digits` decimals, none when whole)."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LANGUAGE)


def percent(value: float | int | None, digits: int = 1) -> str:
    """A share given in percent (66.666…) as "66,7 %"."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + NBSP + "%"
    return format_percent(value / 100, format=pattern, locale=LANGUAGE)


def _moment(value: datetime | date | str | None) -> datetime | date | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored in UTC (Bamako's time all year)
    return value


def when(value: datetime | date | str | None) -> str:
    """1 déc. 2026, 12:30 — UTC, which is Bamako's time; on one line (no-break spaces)."""
    moment = _moment(value)
    if moment is None:
        return "—"
    if not isinstance(moment, datetime):
        return day(moment)
    text = format_datetime(moment, "d MMM y, HH:mm", tzinfo=UTC, locale=LANGUAGE)
    return text.replace(" ", NBSP)


def day(value: datetime | date | str | None) -> str:
    moment = _moment(value)
    if moment is None:
        return "—"
    return format_date(moment, "d MMM y", locale=LANGUAGE).replace(" ", NBSP)


# The audit log's actions and the keys of their details, as the page names them.
ACTIONS = {
    "account.create": C_("compte créé"),
    "account.password": C_("mot de passe changé"),
    "account.disable": C_("compte désactivé"),
    "account.enable": C_("compte réactivé"),
    "broadcast.create": C_("diffusion créée"),
    "broadcast.send": C_("diffusion envoyée"),
    "broadcast.cancel": C_("diffusion annulée"),
    "broadcast.finish": C_("diffusion terminée"),
    "campaign.enable": C_("campagne activée"),
    "campaign.disable": C_("campagne désactivée"),
    "console.login": C_("connexion à la console"),
    "export.roster": C_("export des membres"),
    "organisations.list": C_("organisations listées"),
    "organisations.unlist": C_("organisation retirée de la liste"),
    "poll.save": C_("sondage enregistré"),
    "poll.launch": C_("sondage lancé"),
    "poll.remind": C_("rappel de sondage"),
    "poll.close": C_("sondage fermé"),
    "poll.export": C_("export d'un sondage"),
    "report.validate": C_("rapport validé"),
    "reports.export": C_("export des rapports"),
    "token.create": C_("jeton créé"),
    "token.revoke": C_("jeton révoqué"),
    "gateway.add": C_("passerelle SMS ajoutée"),
    "gateway.remove": C_("passerelle SMS retirée"),
    "gateway.rate": C_("débit d'une passerelle SMS"),
    "gateway.hours": C_("heures d'envoi d'une passerelle SMS"),
    "gateway.connection": C_("adresse ou secrets d'une passerelle SMS modifiés"),
    "members.import": C_("import de l'annuaire"),
    "organisations.change": C_("organisation modifiée"),
    "organisations.merge": C_("organisations fusionnées"),
    "privacy.export": C_("export des données d'un membre"),
    "privacy.purge": C_("effacement par durée de conservation"),
    "translation.save": C_("traduction enregistrée"),
    "translation.import": C_("traductions importées"),
    "poll.create": C_("sondage créé"),
    "poll.edit": C_("sondage modifié"),
    "poll.schedule": C_("ouverture de sondage programmée"),
    "poll.unschedule": C_("ouverture de sondage déprogrammée"),
    "recurring.change": C_("message récurrent modifié"),
    "recurring.send": C_("message récurrent envoyé"),
    "recurring.skip": C_("message récurrent sauté (personne de concerné)"),
    "campaign.texts": C_("textes de campagne modifiés"),
    "campaign.approve": C_("textes de campagne approuvés"),
    "campaign.theme": C_("thème de l'année de campagne modifié"),
    "campaign.move": C_("message de campagne déplacé"),
    "campaign.add": C_("message ajouté à une année de campagne"),
    "campaign.remove": C_("message ajouté retiré d'une année de campagne"),
}
DETAIL_KEYS = {
    "file": C_("fichier"),
    "listed": C_("listées"),
    "unlisted": C_("retirées"),
    "name": C_("nom"),
    "kind": C_("type"),
    "format": C_("format"),
    "filters": C_("filtres"),
    "title": C_("titre"),
    "recipients": C_("destinataires"),
    "queued": C_("en file"),
    "cancelled": C_("annulés"),
    "role": C_("rôle"),
    "year": C_("année"),
    "masked": C_("numéros masqués"),
    "table": C_("table"),
    "slug": C_("sondage"),
    "layout": C_("disposition"),
    "revision": C_("révision"),
    "month": C_("mois"),
    "occurs_at": C_("date prévue"),
}


def action(key: str | None) -> str:
    return ACTIONS.get(key or "", key or "")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return C_("oui") if value else C_("non")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "(" + details(value) + ")" if value else "—"
    if value is None:
        return "—"
    return str(value)


def details(value: Any) -> str:
    """{"file": "liste.csv", "listed": 3} as "fichier : liste.csv ; listées : 3": the letters as
    they are (no \\u00e9 escapes), keys named in French where the page knows them."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return _value(value)
    return " ; ".join(
        f"{DETAIL_KEYS.get(key, key.replace('_', ' '))}{NBSP}: "
        + (label(item) if key in ("role", "status") and isinstance(item, str) else _value(item))
        for key, item in value.items()
    )


def install(environment: jinja2.Environment) -> None:
    environment.filters.update(
        number=number, percent=percent, when=when, day=day, details=details, action=action
    )
