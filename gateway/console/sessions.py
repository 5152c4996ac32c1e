"""Console sessions on the server: the cookie carries a random id, the database the rest.

So a copied cookie stops working when its session ends: at sign-out, when the password changes,
when the account is disabled or the token revoked (storage.console_sessions.end_all).

Only the sign-in page starts a session (its form needs a CSRF token), and only when it answers
successfully. Any other request without a valid cookie (a cross-site POST arrives without it,
SameSite=Lax) is refused or sent to sign in with no Set-Cookie, so its answer cannot replace the
cookie the browser holds and sign the person out.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session, SessionData

from gateway.keys import DATABASE
from storage import console_sessions

COOKIE_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


class DatabaseStorage(AbstractStorage):
    def __init__(self, *, idle: timedelta, starts_at: str, **cookie) -> None:
        super().__init__(**cookie)
        self.idle, self.starts_at = idle, starts_at

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if cookie and COOKIE_ID.match(cookie):
            stored = await console_sessions.load(request.config_dict[DATABASE], cookie)
            if stored is not None:
                data = SessionData(created=stored["created"], session=stored["session"])
                return Session(cookie, data=data, new=False, max_age=self.max_age)
        return Session(None, data=None, new=True, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        database = request.config_dict[DATABASE]
        sent = self.load_cookie(request)
        if session.empty:  # invalidated: signed out
            if session.identity:
                await console_sessions.forget(database, session.identity)
            if sent is not None:
                self.save_cookie(response, "")
            return
        data: dict[str, Any] = dict(self._get_session_data(session))
        who = session.get("who")
        principal = console_sessions.principal(who["kind"], who["id"]) if who else None
        if session.identity is not None and not session.new:
            await console_sessions.save(
                database, session.identity, data, principal, create=False, idle=self.idle
            )
            return
        if request.path != self.starts_at or response.status >= 400:
            return  # a refusal must not replace the session the browser may hold
        identity = secrets.token_urlsafe(32)
        await console_sessions.save(
            database, identity, data, principal, create=True, idle=self.idle
        )
        if sent and COOKIE_ID.match(sent) and sent != identity:
            await console_sessions.forget(database, sent)  # the one before signing in
        session.set_new_identity(identity)
        self.save_cookie(response, identity, max_age=session.max_age)
