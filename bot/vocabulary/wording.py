"""Discreet wording: for deployments where a message seen on a shared phone must not reveal
work on violence against women.

With BENKADI_DISCREET on, every reply is rewritten before it is rendered for its channel: the
bot's name becomes a neutral one (BENKADI_BOT_NAME, "Info" by default) and the few labels that
name the work (the VBG theme, support to survivors, sexual health, the report's reminder not
to write a survivor's name) become neutral words, in
whatever language the reply is in. The keywords members type are neutral already (none names
violence: INSCRIPTION, RAPPORT, OUBLIER…), and stay as they are so that nobody has to learn
new ones. Pure: text in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.vocabulary.i18n import N_, gettext_

BOT_NAME = "Benkadi"
NEUTRAL_NAME = "Info"
# The labels that say what the work is, and what a discreet deployment shows instead.
REVEALING: dict[str, str] = {
    "Violences (VBG)": N_("Protection"),
    "Accompagnement/référencement de survivantes": N_("Accompagnement"),
    "Santé sexuelle (SSR)": N_("Santé"),
    # The report's safety reminder names survivors: the same care, said of any beneficiary.
    "Rappel : n'écrivez jamais le nom d'une survivante.": N_(
        "Rappel : n'écrivez jamais le nom d'un ou d'une bénéficiaire."
    ),
}


@dataclass(frozen=True)
class Wording:
    discreet: bool = False
    bot_name: str = BOT_NAME

    def apply(self, text: str) -> str:
        """The text as this deployment says it, in the current locale (use_locale)."""
        if not self.discreet and self.bot_name == BOT_NAME:
            return text
        if self.discreet:
            for revealing, neutral in REVEALING.items():
                text = text.replace(gettext_(revealing), gettext_(neutral))
        return text.replace(BOT_NAME, self.bot_name)


PLAIN = Wording()


def wording_for(discreet: bool, bot_name: str | None) -> Wording:
    """The deployment's wording: a discreet one gets a neutral name unless one is given."""
    return Wording(discreet, bot_name or (NEUTRAL_NAME if discreet else BOT_NAME))
