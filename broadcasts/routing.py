"""Which route an SMS goes out by: the pure policy under the SMS channel.

Routes are the SIMs of the Android gateways and, last, Twilio. For one recipient:
1. the member's sticky SIM (the one they texted), if it is healthy — they keep the number they know;
2. else a healthy SIM on the recipient's operator (on-net: cheaper, better delivered);
3. else any healthy SIM;
4. else Twilio, when configured;
5. else nothing: the message waits.
Within a tier the SIM free soonest goes (each SIM has its own rate). The same order gives the
preview's plan: members, segments, cost and duration per route.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

TWILIO = "twilio"


@dataclass(frozen=True)
class SimRoute:
    id: int
    gateway: str
    slot: int
    operator: str
    rate_per_minute: float
    price_per_segment: float = 0.0
    healthy: bool = True

    @property
    def label(self) -> str:
        return f"{self.gateway}/sim{self.slot} ({self.operator})"


def choose(
    operator: str | None,
    sims: Sequence[SimRoute],
    *,
    sticky: int | None = None,
    free_at: Mapping[int, float] | None = None,
    exclude: Iterable[int] = (),
) -> SimRoute | None:
    """The SIM for one recipient, or None (then Twilio, or wait)."""
    excluded = set(exclude)
    healthy = [sim for sim in sims if sim.healthy and sim.id not in excluded]
    for sim in healthy:
        if sim.id == sticky:
            return sim
    on_net = [sim for sim in healthy if operator is not None and sim.operator == operator]
    pool = on_net or healthy
    if not pool:
        return None
    free = free_at or {}
    return min(pool, key=lambda sim: (free.get(sim.id, 0.0), sim.id))


@dataclass
class RoutePlan:
    """What one route would carry of a send."""

    route: str  # a SIM's label, or "twilio", or "waiting"
    members: int = 0
    segments: int = 0
    price_per_segment: float = 0.0
    rate_per_minute: float | None = None  # None: Twilio's pace, set by the dispatcher

    @property
    def cost(self) -> float:
        return self.segments * self.price_per_segment

    def minutes(self, twilio_per_second: float) -> float:
        rate = self.rate_per_minute or twilio_per_second * 60
        return self.segments / rate if rate else math.inf


@dataclass
class Plan:
    routes: list[RoutePlan] = field(default_factory=list)

    def duration_minutes(self, twilio_per_second: float) -> float:
        """All routes go at once: the send lasts as long as its slowest route."""
        carrying = [r for r in self.routes if r.members and r.route != "waiting"]
        return max((r.minutes(twilio_per_second) for r in carrying), default=0.0)

    @property
    def cost(self) -> float:
        return sum(route.cost for route in self.routes)


def plan(
    recipients: Iterable[tuple[str | None, int, int | None]],
    sims: Sequence[SimRoute],
    *,
    twilio_price: float | None,
) -> Plan:
    """Spread recipients (operator, segments, sticky SIM) over the routes as `choose` would,
    each SIM's share in proportion to its rate within a tier; twilio_price None: no Twilio."""
    by_sim = {sim.id: RoutePlan(sim.label, 0, 0, sim.price_per_segment, sim.rate_per_minute)
              for sim in sims if sim.healthy}  # fmt: skip
    twilio = RoutePlan(TWILIO, price_per_segment=twilio_price or 0.0)
    waiting = RoutePlan("waiting")
    load: dict[int, float] = {}  # minutes of sending given to each SIM so far
    for operator, segments, sticky in recipients:
        sim = choose(operator, sims, sticky=sticky, free_at=load)
        if sim is None:
            target = twilio if twilio_price is not None else waiting
        else:
            target = by_sim[sim.id]
            load[sim.id] = load.get(sim.id, 0.0) + segments / sim.rate_per_minute
        target.members += 1
        target.segments += segments
    routes = [route for route in by_sim.values() if route.members]
    routes += [route for route in (twilio, waiting) if route.members]
    return Plan(routes)


def format_duration(minutes: float) -> str:
    """ "≈ 3 h 20 min" — how the preview says it."""
    if math.isinf(minutes):
        return "∞"
    total = max(1, round(minutes))
    hours, rest = divmod(total, 60)
    if hours and rest:
        return f"≈ {hours} h {rest:02d} min"
    return f"≈ {hours} h" if hours else f"≈ {rest} min"
