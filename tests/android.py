"""The running app with two fake Android phones registered (and Twilio, as the harness has it):
phone A an Orange + Moov dual-SIM, phone B an Orange single-SIM, their webhooks pointed at us."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass

from aiohttp import web

from gateway.channels.android import WEBHOOK_PATH, AndroidSender
from gateway.fakes.android_api import FakeAndroidGateway, SentSms
from gateway.keys import HEALTH
from storage import gateways as store
from storage.database import Database
from storage.gateways import SimSpec
from storage.migrate import upgrade
from tests.harness import Harness, start_harness, stop_harness

ORANGE_A, MOOV_A, ORANGE_B = "+22370000001", "+22365000001", "+22370000002"


@dataclass
class Phones:
    harness: Harness
    runner: web.AppRunner
    a: FakeAndroidGateway
    b: FakeAndroidGateway

    def sent(self) -> list[tuple[str, SentSms]]:
        """Every SMS the phones sent, with the number of the SIM it went from."""
        return [(phone.sims[m.sim], m) for phone in (self.a, self.b) for m in phone.sent]

    def from_sim(self, number: str) -> list[SentSms]:
        return [m for sim, m in self.sent() if sim == number]

    async def stop(self) -> None:
        await stop_harness(self.harness, self.runner)
        await self.a.stop()
        await self.b.stop()


async def start_phones(
    database_url: str,
    *,
    per_minute: float = 600.0,
    auto_report: bool = True,
    **settings,
) -> Phones:
    """Phones at `per_minute` per SIM (their own limit: the sum over their SIMs)."""
    per_second = per_minute / 60
    a = FakeAndroidGateway(
        password="phone-a-pa55", signing_key="key-a", sims={1: ORANGE_A, 2: MOOV_A},
        limit=int(2 * per_second) or 1, window=1.0, auto_report=auto_report,
    )  # fmt: skip
    b = FakeAndroidGateway(
        password="phone-b-pa55", signing_key="key-b", sims={1: ORANGE_B},
        limit=int(per_second) or 1, window=1.0, auto_report=auto_report,
    )  # fmt: skip
    await a.start()
    await b.start()
    database = Database(database_url)
    await upgrade(database.engine)
    for name, phone, specs in (
        ("phone-a", a, [SimSpec(1, ORANGE_A, "orange", 0.01, per_minute),
                        SimSpec(2, MOOV_A, "moov", 0.01, per_minute)]),
        ("phone-b", b, [SimSpec(1, ORANGE_B, "orange", 0.01, per_minute)]),
    ):  # fmt: skip
        await store.add_gateway(
            database, name=name, base_url=phone.base_url, login=phone.login,
            password=phone.password, signing_key=phone.signing_key, sims_=specs,
        )  # fmt: skip
    gateways = await store.load_gateways(database)
    await database.dispose()
    harness, runner = await start_harness(database_url, **settings)
    # The SMS channel (the route layer) starts in the background: a test begins once it is up,
    # its phones loaded, as the dispatcher would wait for it.
    await asyncio.wait_for(harness.app[HEALTH].starter.up["sms"].wait(), 10)
    for gateway in gateways:
        sender = AndroidSender(gateway)
        await sender.start()
        await sender.register_webhooks(
            harness.settings.public_url + WEBHOOK_PATH.format(gateway=gateway.name)
        )
        await sender.stop()
    return Phones(harness, runner, a, b)


def busiest_second(times: list[float]) -> int:
    """The most SMS in any one-second window."""
    times, most, window = sorted(times), 0, collections.deque[float]()
    for at in times:
        window.append(at)
        while at - window[0] >= 1.0:
            window.popleft()
        most = max(most, len(window))
    return most
