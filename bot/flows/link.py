"""LIER: a member in Telegram proves a phone number by a code sent to it by SMS."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from bot.model import Context, LinkPhone, Outcome, Reply, SendSms, State
from bot.vocabulary.i18n import _
from bot.vocabulary.phones import mask_phone, normalise_phone
from bot.vocabulary.text import fold

FLOW = "link"
CODE_VALID_FOR = timedelta(minutes=15)
MAX_CODE_ATTEMPTS = 3


def code_digest(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def start(ctx: Context) -> Outcome:
    if not ctx.inbound.traits.starts_link:
        return Outcome(
            (
                Reply(
                    _(
                        "Pour relier votre compte Telegram, ouvrez le bot Benkadi dans Telegram et envoyez LIER."
                    )
                ),
            ),
            None,
        )
    if not ctx.sms_available:
        return Outcome(
            (Reply(_("L'envoi de SMS n'est pas disponible pour le moment. Réessayez plus tard.")),),
            None,
        )
    state = State(FLOW, "phone", {})
    return Outcome((_ask_phone(),), state)


def _ask_phone() -> Reply:
    return Reply(_("Quel numéro de téléphone voulez-vous relier ? (ex. 76 12 34 56)"))


def _ask_code(phone: str) -> Reply:
    return Reply(
        _("Un code a été envoyé par SMS au {phone}. Écrivez-le ici.").format(
            phone=mask_phone(phone)
        )
    )


def ask_current(ctx: Context, state: State) -> Reply:
    return _ask_code(state.data["phone"]) if state.step == "code" else _ask_phone()


def answer(ctx: Context, state: State) -> Outcome:
    if state.step == "phone":
        phone = normalise_phone(ctx.inbound.text)
        if phone is None:
            why = _("Ce numéro n'est pas valide.")
            return Outcome((Reply(f"{why}\n{_ask_phone().text}"),), state)
        expires = ctx.now + CODE_VALID_FOR
        data: dict[str, Any] = {
            "phone": phone,
            "digest": code_digest(phone, ctx.fresh_code),
            "expires": expires.isoformat(),
            "attempts": 0,
        }
        sms = _(
            "Benkadi : votre code est {code}. Écrivez-le dans Telegram. Ne le donnez à personne."
        ).format(code=ctx.fresh_code)
        return Outcome((_ask_code(phone),), State(FLOW, "code", data), (SendSms(phone, sms),))
    data = state.data
    if ctx.now > datetime.fromisoformat(data["expires"]):
        return Outcome(
            (Reply(_("Ce code a expiré. Envoyez LIER pour en recevoir un autre.")),), None
        )
    if code_digest(data["phone"], fold(ctx.inbound.text).replace(" ", "")) == data["digest"]:
        return Outcome((), None, (LinkPhone(data["phone"]),))
    attempts = data["attempts"] + 1
    if attempts >= MAX_CODE_ATTEMPTS:
        return Outcome(
            (Reply(_("Code incorrect, trop d'essais. Envoyez LIER pour recommencer.")),), None
        )
    why = _("Code incorrect.")
    return Outcome(
        (Reply(f"{why}\n{_ask_code(data['phone']).text}"),),
        State(FLOW, "code", {**data, "attempts": attempts}),
    )
