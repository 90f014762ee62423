"""Qualification: default French/English rules, order state, channel type, configurable rules."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.domain.common import Channel
from shared.domain.identity import IdentityKind
from shared.domain.inbound import IdentityClaim, InboundMessage
from shared.domain.order import Order, OrderSource, OrderStage, Payment, PaymentStatus, Shipment
from shared.domain.qualification import (
    DEFAULT_RULES,
    MessageFields,
    QualificationConditions,
    QualificationRule,
    QualificationRules,
    ShippingState,
    qualify,
    shipping_state,
)
from shared.domain.ticket import TicketType, Topic

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def msg(text="", subject=None, channel=Channel.email, preset_type=None):
    return MessageFields(channel=channel, subject=subject, text=text, preset_type=preset_type)


def order(**changes):
    fields = {
        "id": "O1",
        "number": "#1001",
        "source": OrderSource.shopify,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Order(**fields)


def kind(text, subject=None, linked=None, channel=Channel.email):
    result = qualify(msg(text, subject, channel), linked)
    return result.type, result.topic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # complaints (type), topic from what they are about
        ("Je souhaite déposer une réclamation.", (TicketType.complaint, Topic.general)),
        ("C'est inadmissible, trois semaines sans nouvelles !", (TicketType.complaint, Topic.general)),
        ("Mon colis est arrivé cassé, je veux être remboursé", (TicketType.complaint, Topic.delivery)),
        ("JE VEUX UN REMBOURSEMENT", (TicketType.complaint, Topic.general)),
        ("I want a refund for this invoice", (TicketType.complaint, Topic.billing)),
        ("This is unacceptable, the screen arrived broken", (TicketType.complaint, Topic.general)),
        ("I'd like to file a complaint about the delivery", (TicketType.complaint, Topic.delivery)),
        # assistance / tech support
        ("Ma box est en panne depuis hier", (TicketType.assistance, Topic.tech_support)),
        ("L'application ne fonctionne pas", (TicketType.assistance, Topic.tech_support)),
        ("ça marche plus depuis la mise à jour", (TicketType.assistance, Topic.tech_support)),
        ("Il y a un bug sur le site", (TicketType.assistance, Topic.tech_support)),
        ("Problème de connexion à mon compte", (TicketType.assistance, Topic.tech_support)),
        ("The app is not working, I get an error", (TicketType.assistance, Topic.tech_support)),
        ("I can\u2019t log in since this morning", (TicketType.assistance, Topic.tech_support)),
        ("Le paiement ne fonctionne pas sur votre site", (TicketType.assistance, Topic.billing)),
        # information
        ("Quels sont vos horaires d'ouverture ?", (TicketType.information, Topic.general)),
        ("J'ai une question sur ma facture", (TicketType.information, Topic.billing)),
        ("Quel est le tarif de l'abonnement ?", (TicketType.information, Topic.sales)),
        ("Bonjour, quel est le PRIX de la box ?", (TicketType.information, Topic.sales)),
        ("How much is the premium plan?", (TicketType.information, Topic.sales)),
        ("Just a quick question about your opening hours", (TicketType.information, Topic.general)),
        # order changes
        ("Je voudrais modifier ma commande", (TicketType.order_change, Topic.back_office)),
        ("Merci d'annuler ma commande", (TicketType.order_change, Topic.back_office)),
        ("Je dois changer l\u2019adresse de livraison", (TicketType.order_change, Topic.back_office)),
        ("Can I change my order please?", (TicketType.order_change, Topic.back_office)),
        ("Please cancel order #1001", (TicketType.order_change, Topic.back_office)),
        # delivery
        ("Mon colis n'est toujours pas arrivé", (TicketType.information, Topic.delivery)),
        ("Pouvez-vous me donner le numéro de suivi ?", (TicketType.information, Topic.delivery)),
        ("My parcel has not arrived yet", (TicketType.information, Topic.delivery)),
        ("Where is my order? No tracking number", (TicketType.information, Topic.delivery)),
        # billing
        ("Je n'ai pas reçu ma facture", (TicketType.information, Topic.billing)),
        ("Le prélèvement a eu lieu deux fois", (TicketType.information, Topic.billing)),
        ("Could you send me the invoice?", (TicketType.information, Topic.billing)),
        # sales
        ("Je souhaite un devis pour 20 postes", (TicketType.information, Topic.sales)),
        ("Je voudrais acheter trois licences", (TicketType.information, Topic.sales)),
        ("Can you send me a quote?", (TicketType.information, Topic.sales)),
        ("I want to buy ten licences", (TicketType.information, Topic.sales)),
        # nothing to go on
        ("Bonjour", (TicketType.unqualified, Topic.general)),
        ("Hello there", (TicketType.unqualified, Topic.general)),
        ("", (TicketType.unqualified, Topic.general)),
    ],
)
def test_default_rules_in_french_and_english(text, expected):
    assert kind(text) == expected


def test_accents_and_case_do_not_matter_either_way():
    assert kind("RECLAMATION") == (TicketType.complaint, Topic.general)  # no accent typed
    assert kind("Réclamation") == (TicketType.complaint, Topic.general)
    assert kind("Livraison")[1] is Topic.delivery
    assert kind("LIVRAISON")[1] is Topic.delivery
    assert kind("ÉCHÉANCE de paiement")[1] is Topic.billing


def test_keywords_match_whole_words_only():
    # "bug" is not in "debugger", "cancel" is not in "cancelled", "prix" not in "prixtel"
    assert kind("Debugger est un métier") == (TicketType.unqualified, Topic.general)
    assert kind("My order was cancelled by mistake?")[0] is not TicketType.order_change
    assert kind("colisée") == (TicketType.unqualified, Topic.general)


def test_phrases_match_across_punctuation_and_spacing_but_in_order():
    assert kind("ça ne   fonctionne\npas")[0] is TicketType.assistance
    assert kind("pas fonctionne ne") == (TicketType.unqualified, Topic.general)


def test_the_subject_counts_as_much_as_the_text():
    assert kind("Bonjour, voir ci-dessous.", subject="Réclamation commande 1001")[0] is TicketType.complaint


def test_the_reasons_name_the_rule_and_the_words():
    result = qualify(msg("Mon colis est arrivé cassé, je veux un remboursement"))
    assert result.matched_rule_ids == ["complaint", "delivery"]
    assert result.type_rule_id == "complaint" and result.topic_rule_id == "delivery"
    assert result.reasons == [
        'type complaint by rule complaint (keyword "rembours*", "cassé")',
        'topic delivery by rule delivery (keyword "colis")',
    ]


def test_an_unmatched_message_says_so():
    result = qualify(msg("Bonjour"))
    assert result.matched_rule_ids == []
    assert result.reasons == ["no rule matched: left for an agent to qualify"]


def test_a_topic_without_a_type_falls_back_to_information_unless_configured_not_to():
    assert qualify(msg("Suivi de mon colis")).reasons[-1] == (
        "type information: a topic was found but no request type"
    )
    strict = DEFAULT_RULES.model_copy(update={"fallback_type": None})
    assert qualify(msg("Suivi de mon colis"), rules=strict).type is TicketType.unqualified


# --- channel and order state --------------------------------------------------------------


def test_a_missed_call_stays_a_callback_whatever_the_words():
    missed = InboundMessage(
        dedup_key="twilio:CA1",
        channel=Channel.phone,
        identities=[IdentityClaim(kind=IdentityKind.phone, value="+33612345678")],
        subject="Call back +33612345678",
        text="Missed call (canceled) from +33612345678",
        ticket_type=TicketType.callback,
        sent_at=NOW,
    )
    result = qualify(missed)
    assert (result.type, result.topic) == (TicketType.callback, Topic.general)
    assert result.reasons[0] == "type callback set by the phone channel"
    # Even when the words of a voicemail transcript would say otherwise.
    worded = msg("Je veux annuler ma commande", channel=Channel.phone, preset_type=TicketType.callback)
    assert qualify(worded).type is TicketType.callback
    assert qualify(worded).topic is Topic.back_office


def test_a_channel_type_can_be_left_to_the_rules():
    rules = DEFAULT_RULES.model_copy(update={"keep_channel_type": False})
    worded = msg("Je veux annuler ma commande", channel=Channel.phone, preset_type=TicketType.callback)
    assert qualify(worded, rules=rules).type is TicketType.order_change


def test_where_is_my_order_with_a_shipped_order_is_a_delivery_question():
    shipped = order(shipments=[Shipment(carrier="Colissimo", status="in_transit")])
    result = qualify(msg("Where is it? I ordered two weeks ago"), shipped)
    assert (result.type, result.topic) == (TicketType.information, Topic.delivery)
    assert result.type_rule_id == "where-is-shipped-order"
    assert "order #1001 shipping in_transit" in result.reasons[0]
    assert kind("Bonjour, où en est ma commande ?", linked=shipped) == (
        TicketType.information,
        Topic.delivery,
    )


def test_where_is_without_a_shipped_order_is_not_a_delivery_question():
    assert kind("Where is your shop?") == (TicketType.unqualified, Topic.general)
    preparing = order(stage=OrderStage.preparation)
    assert kind("Where is your shop?", linked=preparing) == (TicketType.unqualified, Topic.general)


def test_the_order_state_alone_gives_a_topic_when_the_words_give_none():
    failed = order(payment=Payment(status=PaymentStatus.failed))
    assert kind("Bonjour, pouvez-vous me rappeler ?", linked=failed) == (
        TicketType.information,
        Topic.billing,
    )
    lost = order(shipments=[Shipment(status="failure")])
    assert kind("Bonjour", linked=lost) == (TicketType.information, Topic.delivery)
    quote = order(stage=OrderStage.quote)
    assert kind("Bonjour", linked=quote) == (TicketType.information, Topic.sales)
    # Words still win over the order state.
    assert kind("Ma facture est fausse", linked=lost)[1] is Topic.billing


def test_shipping_state_of_an_order():
    assert shipping_state(order()) is ShippingState.not_shipped
    assert shipping_state(order(shipments=[Shipment(status="in_transit")])) is ShippingState.in_transit
    assert shipping_state(order(shipments=[Shipment()])) is ShippingState.in_transit
    assert shipping_state(order(fulfillment_status="fulfilled")) is ShippingState.in_transit
    assert shipping_state(order(delivered_at=NOW)) is ShippingState.delivered
    assert (
        shipping_state(order(fulfillment_status="fulfilled", shipments=[Shipment(status="delivered")]))
        is ShippingState.delivered
    )
    issue = order(shipments=[Shipment(status="delivered"), Shipment(status="ATTEMPTED_DELIVERY")])
    assert shipping_state(issue) is ShippingState.delivery_issue


def test_the_display_text_is_read_rather_than_the_quoted_thread():
    reply = InboundMessage(
        dedup_key="email:1",
        channel=Channel.email,
        identities=[],
        text="Merci !\n\n> Le ... a écrit : votre remboursement est en cours",
        display_text="Merci !",
        sent_at=NOW,
    )
    assert qualify(reply).type is TicketType.unqualified
    fields = MessageFields.from_inbound(reply)
    assert fields.text == "Merci !"
    assert fields.channel is Channel.email


def test_a_very_long_message_is_read_up_to_a_bound():
    text = "bonjour " * 2000 + "réclamation"
    assert qualify(msg(text)).type is TicketType.unqualified


# --- configurable rules -------------------------------------------------------------------


def test_admins_can_write_rules_as_json_with_channels_and_wildcards():
    rules = QualificationRules.model_validate_json(
        """
        {"rules": [
          {"id": "vip-whatsapp", "when": {"channels": ["whatsapp"], "keywords": ["abonn*"]},
           "type": "assistance", "topic": "sales"},
          {"id": "refund", "when": {"keywords": ["rembours*"]}, "type": "complaint"},
          {"id": "disabled", "when": {"keywords": ["bonjour"]}, "topic": "billing", "enabled": false}
        ]}
        """
    )
    assert qualify(msg("Mon abonnement", channel=Channel.whatsapp), rules=rules).type is TicketType.assistance
    assert qualify(msg("Mon abonnement", channel=Channel.email), rules=rules).type is TicketType.unqualified
    assert qualify(msg("Bonjour, remboursez-moi"), rules=rules).type is TicketType.complaint
    assert qualify(msg("Bonjour"), rules=rules).topic is Topic.general  # disabled rule
    assert QualificationRules.model_validate_json(rules.model_dump_json()) == rules


def test_rule_order_breaks_ties():
    first = QualificationRule(id="a", when=QualificationConditions(keywords=["colis"]), topic=Topic.delivery)
    second = QualificationRule(id="b", when=QualificationConditions(keywords=["colis"]), topic=Topic.billing)
    assert qualify(msg("colis"), rules=QualificationRules(rules=[first, second])).topic is Topic.delivery
    result = qualify(msg("colis"), rules=QualificationRules(rules=[second, first]))
    assert result.topic is Topic.billing
    assert result.matched_rule_ids == ["b", "a"]


def test_all_conditions_of_a_rule_must_hold():
    rule = QualificationRule(
        id="late-shipped-complaint",
        when=QualificationConditions(
            keywords=["retard"],
            channels=[Channel.sms, Channel.whatsapp],
            shipping_states=[ShippingState.in_transit],
            order_stages=[OrderStage.preparation],
            payment_statuses=[PaymentStatus.paid],
        ),
        type=TicketType.complaint,
    )
    rules = QualificationRules(rules=[rule])
    good = order(
        stage=OrderStage.preparation,
        payment=Payment(status=PaymentStatus.paid),
        shipments=[Shipment(status="in_transit")],
    )
    sms = msg("Encore du retard", channel=Channel.sms)
    assert qualify(sms, good, rules).type is TicketType.complaint
    assert qualify(sms, None, rules).type is TicketType.unqualified  # order conditions need an order
    assert qualify(msg("Encore du retard"), good, rules).type is TicketType.unqualified  # email
    assert qualify(msg("Bonjour", channel=Channel.sms), good, rules).type is TicketType.unqualified
    unpaid = good.model_copy(update={"payment": Payment(status=PaymentStatus.pending)})
    assert qualify(sms, unpaid, rules).type is TicketType.unqualified
    billed = good.model_copy(update={"stage": OrderStage.billing})
    assert qualify(sms, billed, rules).type is TicketType.unqualified
    reason = qualify(sms, good, rules).reasons[0]
    assert reason == (
        'type complaint by rule late-shipped-complaint (keyword "retard"; channel sms; order #1001 at '
        "stage preparation; order #1001 payment paid; order #1001 shipping in_transit)"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "x", "when": {}, "type": "complaint"}, "at least one condition"),
        ({"id": "x", "when": {"keywords": ["a"]}}, "neither a type nor a topic"),
        ({"id": "x", "when": {"keywords": ["a"]}, "type": "unqualified"}, "no rule matching"),
        ({"id": "x", "when": {"keywords": ["  !! "]}, "type": "complaint"}, "no word"),
        ({"id": "x", "when": {"keywords": ["*"]}, "type": "complaint"}, "no word"),
        ({"id": "x", "when": {"shipping_states": ["lost"]}, "topic": "delivery"}, "shipping_states"),
        ({"id": "x", "when": {"channels": ["fax"]}, "topic": "delivery"}, "channels"),
        ({"id": "has space", "when": {"keywords": ["a"]}, "topic": "delivery"}, "id"),
        ({"id": "x", "when": {"keywords": ["a"]}, "topic": "delivery", "extra": 1}, "extra"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(rule, message):
    with pytest.raises(ValidationError, match=message):
        QualificationRule.model_validate(rule)


def test_rule_ids_are_unique_in_a_set():
    rule = QualificationRule(id="a", when=QualificationConditions(keywords=["x"]), topic=Topic.sales)
    with pytest.raises(ValidationError, match="used twice"):
        QualificationRules(rules=[rule, rule])


def test_default_rules_are_valid_json_and_cover_every_topic_and_type():
    restored = QualificationRules.model_validate_json(DEFAULT_RULES.model_dump_json())
    assert restored == DEFAULT_RULES
    topics = {r.topic for r in DEFAULT_RULES.rules if r.topic}
    types = {r.type for r in DEFAULT_RULES.rules if r.type}
    assert topics == {Topic.sales, Topic.tech_support, Topic.billing, Topic.delivery, Topic.back_office}
    assert types == {
        TicketType.complaint,
        TicketType.assistance,
        TicketType.information,
        TicketType.order_change,
    }
