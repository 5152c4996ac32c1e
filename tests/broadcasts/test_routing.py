"""The route policy (pure): sticky, on-net, any SIM, then Twilio or wait; the preview's plan."""

from __future__ import annotations

import pytest

from broadcasts.routing import SimRoute, choose, format_duration, plan

pytestmark = pytest.mark.unit

ORANGE_A = SimRoute(1, "a", 1, "orange", rate_per_minute=2.0, price_per_segment=10)
MOOV_A = SimRoute(2, "a", 2, "moov", rate_per_minute=1.0, price_per_segment=12)
ORANGE_B = SimRoute(3, "b", 1, "orange", rate_per_minute=1.0, price_per_segment=10)
SIMS = [ORANGE_A, MOOV_A, ORANGE_B]


def down(sim: SimRoute) -> SimRoute:
    return SimRoute(sim.id, sim.gateway, sim.slot, sim.operator, sim.rate_per_minute,
                    sim.price_per_segment, healthy=False)  # fmt: skip


def test_sticky_first_even_off_net():
    assert choose("orange", SIMS, sticky=MOOV_A.id) == MOOV_A


def test_sticky_down_falls_back_to_on_net():
    assert choose("orange", [ORANGE_A, down(MOOV_A)], sticky=MOOV_A.id) == ORANGE_A


def test_on_net_the_one_free_soonest():
    assert choose("orange", SIMS, free_at={1: 5.0, 3: 1.0}) == ORANGE_B
    assert choose("moov", SIMS, free_at={2: 100.0}) == MOOV_A  # waits rather than go off-net


def test_off_net_when_no_on_net_sim_is_up_then_none():
    assert choose("moov", [ORANGE_A, down(MOOV_A)]) == ORANGE_A
    assert choose(None, [down(ORANGE_A)], sticky=None) is None
    assert choose("orange", SIMS, exclude=[1, 2, 3]) is None


def test_plan_per_route_cost_and_duration():
    recipients = [("orange", 1, None)] * 300 + [("moov", 2, None)] * 60 + [("telecel", 1, None)]
    result = plan(recipients, SIMS, twilio_price=50)
    by_route = {r.route: r for r in result.routes}
    assert by_route["a/sim2 (moov)"].members == 60 and by_route["a/sim2 (moov)"].segments == 120
    orange = by_route["a/sim1 (orange)"].members + by_route["b/sim1 (orange)"].members
    assert orange == 301  # telecel has no SIM: any SIM, the one free soonest
    assert by_route["a/sim1 (orange)"].members > by_route["b/sim1 (orange)"].members  # 2× rate
    assert "twilio" not in by_route
    assert result.duration_minutes(10.0) == pytest.approx(120.0, abs=2)  # the Moov SIM's 120
    assert result.cost == pytest.approx(301 * 10 + 120 * 12)


def test_plan_with_no_sim_up_twilio_or_waiting():
    recipients = [("orange", 1, None)] * 10
    assert [
        (r.route, r.members) for r in plan(recipients, [down(ORANGE_A)], twilio_price=5).routes
    ] == [("twilio", 10)]
    assert [(r.route, r.members) for r in plan(recipients, [], twilio_price=None).routes] == [
        ("waiting", 10)
    ]


def test_durations_read_like_the_preview():
    assert format_duration(200) == "≈ 3 h 20 min"
    assert format_duration(0.2) == "≈ 1 min"
    assert format_duration(120) == "≈ 2 h"
