"""A person brought in by a directory import answers their invitation: OUI joins (consent,
with its date and channel), STOP refuses (nothing is ever sent to them again). Until then they
are not a member: anything else gets the question again, in their language."""

from __future__ import annotations

from bot.model import AcceptInvitation, Context, OptIn, OptOut, Outcome, RefuseInvitation, Reply
from bot.vocabulary.i18n import _
from bot.vocabulary.text import is_no, is_yes, keyword

# What an invited person may still do before answering: ask for help, or change language.
PASS_THROUGH = frozenset({"help", "language", "erase", "cancel"})


def question() -> str:
    return _("Répondez OUI pour rejoindre Benkadi, ou STOP pour refuser.")


def answer(ctx: Context) -> Outcome | None:
    """The outcome of a message from an invited (or refused) person; None to let the usual
    dialogue handle it (AIDE, LANGUE, OUBLIER)."""
    member = ctx.member
    assert member is not None and member.invitation is not None
    text = ctx.inbound.button or ctx.inbound.text
    command = keyword(text)
    if is_yes(text) or command == "register" or (command == "start" and ctx.opted_out):
        welcome = _(
            "Bienvenue dans Benkadi, {name} ! Vous recevrez les messages de la coordination. PROFIL pour vérifier vos informations, OUBLIER pour tout effacer."
        ).format(name=member.name or "")
        effects = (AcceptInvitation(), OptIn()) if ctx.opted_out else (AcceptInvitation(),)
        return Outcome((Reply(welcome),), None, effects)
    if command in PASS_THROUGH:
        return None
    if member.invitation == "refused":
        # They said STOP: a message of theirs is answered, never followed up.
        return Outcome(
            (Reply(_("Vous avez refusé : Benkadi ne vous écrira pas. OUI pour rejoindre.")),), None
        )
    if command == "stop" or is_no(text):
        text = _(
            "C'est noté : Benkadi ne vous écrira plus. Vos coordonnées ne seront pas utilisées."
        )
        return Outcome((Reply(text),), None, (OptOut(), RefuseInvitation()))
    return Outcome((Reply(question()),), None)
