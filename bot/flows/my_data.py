"""MES DONNÉES: what Benkadi holds about the member, in short, and how to get the full copy
(the secretariat answers an access request with `benkadi privacy export`)."""

from __future__ import annotations

from bot.flows.common import summary
from bot.flows.membership import profile_values
from bot.model import Context, Outcome, Reply
from bot.vocabulary.i18n import _


def my_data(ctx: Context) -> Outcome:
    if ctx.member is None:
        text = _(
            "Vous n'êtes pas inscrit(e). Benkadi garde seulement ce numéro et vos derniers "
            "messages, effacés après quelques mois."
        )
        return Outcome((Reply(text),), None)
    values = profile_values(ctx)
    lines = [_("Ce que Benkadi garde sur vous :"), summary(values)]
    lines.append(
        _(
            "Aussi : vos derniers messages, vos réponses aux sondages et vos rapports. Pour une "
            "copie complète, demandez-la au secrétariat (membre n° {id}). OUBLIER efface tout."
        ).format(id=ctx.member.member_id)
    )
    return Outcome((Reply("\n".join(lines)),), None)
