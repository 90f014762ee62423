"""Priority: type, customer value, impatience across channels, SLA proximity; explained."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.common import Channel
from shared.domain.customer import CustomerTraits
from shared.domain.priority import (
    DEFAULT_PRIORITY_POLICY,
    PriorityPolicy,
    max_priority,
    priority_for,
    raise_priority,
)
from shared.domain.ticket import Priority, TicketType

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ORDINARY = CustomerTraits(orders_count=1, lifetime_value=Decimal("45"), average_basket=Decimal("45"))


def decide(ticket_type=TicketType.assistance, traits=ORDINARY, contacts=(), due=None, policy=None):
    return priority_for(
        ticket_type, traits, list(contacts), due, NOW, policy=policy or DEFAULT_PRIORITY_POLICY
    )


@pytest.mark.parametrize(
    ("ticket_type", "priority"),
    [
        (TicketType.complaint, Priority.high),
        (TicketType.callback, Priority.high),
        (TicketType.assistance, Priority.normal),
        (TicketType.order_change, Priority.normal),
        (TicketType.unqualified, Priority.normal),
        (TicketType.information, Priority.low),
    ],
)
def test_the_request_type_sets_the_starting_level(ticket_type, priority):
    decision = decide(ticket_type)
    assert decision.priority is priority
    assert decision.reasons == [f"{ticket_type.value}: starts {priority.value}"]


def test_the_score_orders_types_within_a_level_and_levels_first():
    scores = {t: decide(t).score for t in TicketType}
    assert (
        scores[TicketType.complaint]
        > scores[TicketType.callback]
        > scores[TicketType.assistance]
        > scores[TicketType.order_change]
        > scores[TicketType.unqualified]
        > scores[TicketType.information]
    )
    vip_information = decide(TicketType.information, CustomerTraits(lifetime_value=Decimal("5000")))
    assert vip_information.priority is Priority.normal
    assert scores[TicketType.order_change] > vip_information.score  # same level, the type decides
    assert decide(TicketType.assistance, due=NOW - timedelta(minutes=1)).score == 340


def test_a_valuable_customer_rises_one_level_by_lifetime_value_or_average_basket():
    by_lifetime = decide(traits=CustomerTraits(orders_count=12, lifetime_value=Decimal("1000.00")))
    assert by_lifetime.priority is Priority.high
    assert by_lifetime.reasons[1] == "valuable customer: lifetime value 1000.00 >= 1000: +1 level -> high"
    by_basket = decide(traits=CustomerTraits(lifetime_value=Decimal("250"), average_basket=Decimal("250")))
    assert by_basket.priority is Priority.high
    assert "average basket 250 >= 200" in by_basket.reasons[1]
    # Both thresholds met: still one level.
    both = decide(traits=CustomerTraits(lifetime_value=Decimal("9000"), average_basket=Decimal("900")))
    assert both.priority is Priority.high


def test_just_under_the_thresholds_or_unknown_customers_do_not_rise():
    assert decide(traits=CustomerTraits(lifetime_value=Decimal("999.99"))).priority is Priority.normal
    assert decide(traits=CustomerTraits(average_basket=Decimal("199.99"))).priority is Priority.normal
    assert decide(traits=CustomerTraits()).priority is Priority.normal  # no average basket yet
    assert decide(traits=None).priority is Priority.normal


def test_value_criteria_can_be_tuned_or_switched_off():
    policy = PriorityPolicy(valuable_lifetime_value=None, valuable_average_basket=Decimal("40"))
    assert decide(traits=ORDINARY, policy=policy).priority is Priority.high
    assert (
        decide(traits=CustomerTraits(lifetime_value=Decimal("1e6")), policy=policy).priority
        is Priority.normal
    )


def test_contacts_on_two_channels_within_24_hours_make_an_impatient_customer():
    contacts = [(Channel.email, NOW - timedelta(hours=20)), (Channel.whatsapp, NOW)]
    decision = decide(contacts=contacts)
    assert decision.priority is Priority.high
    assert decision.reasons[1] == (
        "impatient customer: 2 contacts on email, whatsapp within 24 h: +1 level -> high"
    )


def test_contacts_outside_the_window_or_on_one_channel_do_not_count():
    old = [(Channel.email, NOW - timedelta(hours=24)), (Channel.whatsapp, NOW)]  # exactly 24 h ago: out
    assert decide(contacts=old).priority is Priority.normal
    future = [(Channel.email, NOW + timedelta(minutes=5)), (Channel.whatsapp, NOW)]
    assert decide(contacts=future).priority is Priority.normal
    same_channel = [(Channel.sms, NOW - timedelta(hours=1)), (Channel.sms, NOW)]
    assert decide(contacts=same_channel).priority is Priority.normal
    assert decide(contacts=[(Channel.sms, NOW)]).priority is Priority.normal


def test_three_contacts_even_on_one_channel_make_an_insistent_customer():
    three = [(Channel.sms, NOW - timedelta(hours=h)) for h in (0, 1, 2)]
    decision = decide(contacts=three)
    assert decision.priority is Priority.high
    assert decision.reasons[1].startswith("insistent customer: 3 contacts within 24 h")
    assert decide(contacts=three, policy=PriorityPolicy(insistent_contacts=None)).priority is Priority.normal


def test_the_impatience_window_and_thresholds_are_configurable():
    policy = PriorityPolicy(impatience_window=timedelta(hours=2), impatient_channels=3)
    two_channels = [(Channel.email, NOW - timedelta(hours=1)), (Channel.sms, NOW)]
    assert decide(contacts=two_channels, policy=policy).priority is Priority.normal
    three_channels = [*two_channels, (Channel.messenger, NOW)]
    decision = decide(contacts=three_channels, policy=policy)
    assert decision.priority is Priority.high
    assert "within 2 h" in decision.reasons[1]


def test_an_sla_deadline_close_by_raises_one_level_and_a_passed_one_makes_it_urgent():
    soon = decide(TicketType.information, due=NOW + timedelta(minutes=45))
    assert soon.priority is Priority.normal
    assert soon.reasons[1] == "SLA deadline in 45 min: +1 level -> normal"
    assert decide(due=NOW + timedelta(hours=1)).priority is Priority.high  # the window's edge is in
    assert decide(due=NOW + timedelta(hours=1, seconds=1)).priority is Priority.normal
    assert decide(due=NOW).priority is Priority.high  # due now: not passed yet
    overdue = decide(TicketType.information, due=NOW - timedelta(hours=2, minutes=5))
    assert overdue.priority is Priority.urgent
    assert overdue.reasons[1] == "SLA deadline passed 2 h 05 min ago: urgent"


def test_factors_add_up_and_stop_at_urgent_with_every_reason_kept():
    vip = CustomerTraits(lifetime_value=Decimal("5000"))
    contacts = [(Channel.email, NOW - timedelta(hours=3)), (Channel.phone, NOW)]
    decision = decide(TicketType.complaint, vip, contacts, due=NOW + timedelta(minutes=10))
    assert decision.priority is Priority.urgent
    assert decision.reasons == [
        "complaint: starts high",
        "valuable customer: lifetime value 5000 >= 1000: +1 level -> urgent",
        "impatient customer: 2 contacts on email, phone within 24 h (already urgent)",
        "SLA deadline in 10 min (already urgent)",
    ]
    assert decision.score == 350


def test_the_same_facts_give_the_same_decision():
    contacts = [(Channel.whatsapp, NOW), (Channel.email, NOW - timedelta(hours=1))]
    assert decide(contacts=contacts) == decide(contacts=list(reversed(contacts)))


def test_policies_round_trip_as_json():
    policy = PriorityPolicy(valuable_average_basket=Decimal("150.50"), sla_due_soon=timedelta(minutes=30))
    assert PriorityPolicy.model_validate_json(policy.model_dump_json()) == policy
    partial = PriorityPolicy.model_validate({"base": {"information": "normal"}})
    assert decide(TicketType.information, policy=partial).priority is Priority.normal
    assert decide(TicketType.complaint, policy=partial).priority is Priority.high  # not listed: default
    assert partial.type_weights == DEFAULT_PRIORITY_POLICY.type_weights


def test_raise_and_max_priority():
    assert raise_priority(Priority.low) is Priority.normal
    assert raise_priority(Priority.normal, 2) is Priority.urgent
    assert raise_priority(Priority.high, 5) is Priority.urgent
    assert raise_priority(Priority.urgent) is Priority.urgent
    assert raise_priority(Priority.high, -9) is Priority.low
    assert max_priority(Priority.low, Priority.high, Priority.normal) is Priority.high


@pytest.mark.parametrize(
    "changes",
    [
        {"impatience_window": "PT0S"},
        {"sla_due_soon": "-PT1H"},
        {"impatient_contacts": 0},
        {"insistent_contacts": 1},
        {"base": {"information": "critical"}},
        {"unknown": 1},
    ],
)
def test_nonsensical_policies_are_refused(changes):
    with pytest.raises(ValidationError):
        PriorityPolicy.model_validate(changes)
