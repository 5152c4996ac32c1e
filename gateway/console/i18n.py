"""The console's interface strings: their own gettext domain, `console`, French as the source.

Templates use `_()` (jinja2's i18n extension); Python code marks strings with `C_()`. Neither is
in the members' catalogs (`benkadi`), which must be complete in Bambara: the console is for the
secretariat, in French, and another language only needs a locales/<lang>/LC_MESSAGES/console.po.
Extract with:
    .venv/bin/pybabel extract -F babel-console.cfg -k C_ --no-location --sort-output \
        -o locales/console.pot .
"""

from __future__ import annotations

import functools
import gettext

from bot.vocabulary.i18n import LOCALES_DIR

DOMAIN = "console"
LANGUAGE = "fr"


class FrenchSource(gettext.NullTranslations):
    """The source texts with French's plural rule: "0 destinataire", "1 segment", "2 segments"
    (gettext's own fallback would say "0 destinataires")."""

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return msgid1 if abs(n) < 2 else msgid2


@functools.cache
def catalog(language: str = LANGUAGE) -> gettext.NullTranslations:
    found = gettext.translation(DOMAIN, LOCALES_DIR, languages=[language], fallback=True)
    return FrenchSource() if type(found) is gettext.NullTranslations else found


def C_(message: str) -> str:
    return catalog().gettext(message)


# Words stored in English (statuses, roles, reasons) as the console shows them.
LABELS = {
    "draft": C_("brouillon"),
    "scheduled": C_("programmée"),
    "sending": C_("en cours d'envoi"),
    "sent": C_("envoyé"),
    "cancelled": C_("annulé"),
    "queued": C_("en attente"),
    "delivered": C_("remis"),
    "failed": C_("échec"),
    "undelivered": C_("non remis"),
    "skipped": C_("sauté"),
    "viewer": C_("lecture"),
    "secretariat": C_("secrétariat"),
    "admin": C_("administration"),
    "translator": C_("traduction"),
    "refused": C_("invités, ont refusé"),
    "invited": C_("invités, sans réponse"),
    "joined": C_("ont rejoint"),
    "no_consent": C_("sans consentement"),
    "opted_out": C_("désinscrits"),
    "blocked": C_("ont bloqué le bot"),
    "invalid": C_("numéro invalide"),
    "no_channel": C_("aucun canal"),
}


def label(key: str | None) -> str:
    return LABELS.get(key or "", key or "")
