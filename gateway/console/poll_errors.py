"""The poll definition parser's refusals (broadcasts/polls/parse.py, broadcasts/file_parser.py),
in French for the secretariat. The parser speaks English to the API, the CLI and the files'
authors (its field and message stay as they are there); the console says the same in French.

One table: a pattern of the parser's message → the French sentence (its details kept: a key,
the names it knows). A message the table does not know still comes back in French (the
generic sentence), never in English: tests/console/test_poll_errors.py tries each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.console.i18n import C_

_Say = Callable[[re.Match[str], str], str]


def _key_rule(found: re.Match[str], field: str) -> str:
    return C_(
        "Clé : lettres minuscules, chiffres, - ou _, sans espace (au plus %(n)s), ex. %(example)s."
    ) % {"n": found["n"], "example": found["example"].strip('"')}


def _one_of(found: re.Match[str], field: str) -> str:
    if field.endswith(".kind"):
        return C_(
            "Type de question inconnu : un seul choix, plusieurs choix, nombre, oui / non "
            "ou texte court (single, multiple, number, yes_no, text)."
        )
    if field.endswith(".dimension"):
        return C_("Dimension inconnue : technique, organisationnelle ou opérationnelle.")
    return C_("Valeur inconnue (possibles : %(known)s).") % {"known": found["known"]}


def _known(found: re.Match[str], field: str) -> str:
    names = {"names": found["names"], "known": found["known"]}
    if field.startswith("audience."):
        return C_("Public : %(names)s inconnu (connus : %(known)s).") % names
    return C_("Inconnu : %(names)s (connus : %(known)s).") % names


def _unknown_key(found: re.Match[str], field: str) -> str:
    key = field.rsplit(".", 1)[-1]
    return C_("Champ inconnu « %(key)s » (connus : %(known)s).") % {
        "key": key,
        "known": found["known"],
    }


def toml_syntax(message: str, line: int | None) -> str:
    """tomllib's complaint about a file, in French, at its line."""
    where = {"line": line if line is not None else "?"}
    if "overwrite" in message or "already" in message:
        return C_("Ligne %(line)s : une clé ou une table apparaît deux fois.") % where
    return C_("Ligne %(line)s : ce n'est pas du TOML valable.") % where


# (pattern of the English message, the French sentence); the first that matches says it.
RULES: tuple[tuple[str, _Say], ...] = (
    (r"^is (?P<n>\d+) SMS .*a question must fit one SMS",
     lambda f, _: C_("La question et ses choix doivent tenir en un SMS (%(n)s SMS ici).")
     % {"n": f["n"]}),
    (r"^is (?P<n>\d+) SMS as sent .*; at most (?P<max>\d+)$",
     lambda f, _: C_("Texte trop long : %(n)s SMS (au plus 2).") % {"n": f["n"]}),
    (r"^must be lower-case letters, digits, - or _ \(at most (?P<n>\d+)\), e\.g\. (?P<example>.*)$",
     _key_rule),
    (r"^must be lower-case letters, digits and dashes",
     lambda f, _: C_(
         "Identifiant : lettres minuscules, chiffres et tirets (ex. capacites-2027)."
     )),
    (r"^must be a date \(", lambda f, _: C_("Date invalide (AAAA-MM-JJ HH:MM, heure de Bamako).")),
    (r"^must come after opens", lambda f, _: C_("La clôture doit venir après l'ouverture.")),
    (r"^must be a number of days", lambda f, _: C_("Un nombre de jours, 1 ou plus.")),
    (r"^needs a \[reminder\] text", lambda f, _: C_("Un rappel demande son texte.")),
    (r"^must be a number$", lambda f, _: C_("Doit être un nombre.")),
    (r"^must be true or false$", lambda f, _: C_("Doit être vrai ou faux (true ou false).")),
    (r"^must be an \[\[questions\.options\]\] table",
     lambda f, _: C_("Un choix doit être une table [[questions.options]].")),
    (r"^must be a \[\[questions\]\] table",
     lambda f, _: C_("Une question doit être une table [[questions]].")),
    (r"^a poll needs at least one", lambda f, _: C_("Un sondage demande au moins une question.")),
    (r"^at most (?P<n>\d+) questions$",
     lambda f, _: C_("Au plus %(n)s questions.") % {"n": f["n"]}),
    (r"^must be \{ question = ",
     lambda f, _: C_(
         "Condition mal formée : une question précédente et ses réponses, ou « au moins N »."
     )),
    (r"^must name an earlier question$",
     lambda f, _: C_("La condition doit porter sur une question précédente.")),
    (r"^a number question is tested with at_least",
     lambda f, _: C_("Pour un nombre : « au moins » suivi d'un nombre.")),
    (r"^must list some options of the earlier question$",
     lambda f, _: C_(
         "La condition doit citer un ou plusieurs choix de la question visée "
         "(une question à texte libre ne peut pas servir de condition)."
     )),
    (r"^is not an option of it \(known: (?P<known>.*)\)$",
     lambda f, _: C_("Ce n'est pas un choix de la question visée (choix : %(known)s).")
     % {"known": f["known"]}),
    (r"^'(?P<key>.*)' is already the key of another question$",
     lambda f, _: C_("La clé « %(key)s » est déjà celle d'une autre question.")
     % {"key": f["key"]}),
    (r"^'(?P<key>.*)' is taken$",
     lambda f, _: C_(
         "La clé « %(key)s » est déjà prise (par un autre choix, ou réservée : done, skip)."
     ) % {"key": f["key"]}),
    (r"^must be one of (?P<known>.*)$", _one_of),
    (r"^needs at least two \[\[questions\.options\]\]",
     lambda f, _: C_("Il faut au moins deux choix.")),
    (r"^for yes/no: ",
     lambda f, _: C_("Pour oui / non : un score pour oui (yes) et un pour non (no).")),
    (r"^a (?P<kind>\w+) question has no options$",
     lambda f, _: C_("Ce type de question n'a pas de choix.")),
    (r"^a number question needs min and max",
     lambda f, _: C_("Un nombre demande un minimum et un maximum (min ≤ max).")),
    (r"^only a number question has a range$",
     lambda f, _: C_("Seule une question « Nombre » a un minimum et un maximum.")),
    (r"^must be a JSON object$",
     lambda f, _: C_("Le fichier doit être un sondage TOML ou JSON en UTF-8.")),
    (r"^unknown key \(known: (?P<known>.*)\)$", _unknown_key),
    (r"^unknown language \(known: (?P<known>.*)\)$",
     lambda f, _: C_("Langue inconnue (connues : %(known)s).") % {"known": f["known"]}),
    (r"^'(?P<code>.*)': unknown language \(known: (?P<known>.*)\)$",
     lambda f, _: C_("Langue inconnue : %(code)s (connues : %(known)s).")
     % {"code": f["code"], "known": f["known"]}),
    (r"^a French text \(fr\) is required", lambda f, _: C_("Le texte en français est obligatoire.")),
    (r"^must be some text$", lambda f, _: C_("Il faut un texte.")),
    (r"^must be text, or ", lambda f, _: C_("Un texte, ou un texte par langue (fr, bm, …).")),
    (r"^must be on one line$", lambda f, _: C_("Sur une seule ligne.")),
    (r"^is longer than (?P<n>\d+) characters$",
     lambda f, _: C_("Texte trop long : au plus %(n)s caractères.") % {"n": f["n"]}),
    (r"^must be a table: \[review\]|^must be a list of languages",
     lambda f, _: C_("Langues à relire : une liste de codes, par exemple [\"ff\", \"ses\"].")),
    (r"^unknown: (?P<names>.*) \(known: (?P<known>.*)\)$", _known),
    (r"^must be a list of names$", lambda f, _: C_("Une liste de noms.")),
    (r"^must be a table of filters|^must be an object$|^unknown filter",
     lambda f, _: C_("Le public : les mêmes filtres qu'une diffusion.")),
    (r"^must be a date, YYYY-MM-DD$", lambda f, _: C_("Une date, AAAA-MM-JJ.")),
)  # fmt: skip
_COMPILED = tuple((re.compile(pattern), say) for pattern, say in RULES)


def french(field: str, message: str) -> str:
    """The parser's `message` about `field`, in French."""
    if field == "slug" and message.startswith("must be"):
        return C_("Identifiant : lettres minuscules, chiffres et tirets (ex. capacites-2027).")
    for pattern, say in _COMPILED:
        found = pattern.search(message)
        if found is not None:
            return say(found, field)
    if field.startswith("whatsapp"):
        return C_("Les modèles WhatsApp sont mal décrits (voir le README, « Sondages »).")
    return C_("Cette valeur n'est pas acceptée.")
