"""Qualification: the request type and topic of a new ticket, from rules admins can edit.

Rules are data (pydantic models stored as JSON) because the words customers use change with
the catalogue and the season, and a support lead must be able to fix a misrouted request
without a deployment. The evaluation is pure and explained: every decision carries the rules
and the words that made it, so an agent who requalifies sees what to correct.

Resolution: rules are tried in order and *all* matching ones are reported; the request type
comes from the first matching rule that sets a type, the topic from the first matching rule
that sets a topic. A message "my parcel arrived broken, I want a refund" is thus a complaint
(complaint rule) about delivery (delivery rule), without a rule for every combination.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

from pydantic import Field, field_validator, model_validator

from shared.domain.common import Channel, DomainModel
from shared.domain.inbound import InboundMessage
from shared.domain.order import Order, OrderStage, PaymentStatus
from shared.domain.search import fold
from shared.domain.ticket import TicketType, Topic

MAX_TEXT_LENGTH = 5_000  # what is read of a message: long emails quote whole threads below


class ShippingState(StrEnum):
    """Where the goods of an order are, from its shipments (platform words vary, this does not)."""

    not_shipped = "not_shipped"
    in_transit = "in_transit"
    delivery_issue = "delivery_issue"  # failed or attempted delivery, returned, lost
    delivered = "delivered"


# Carrier statuses (Shopify shipment_status, carrier webhooks) that mean the parcel is stuck.
_ISSUE_STATUSES = frozenset(
    {"failure", "failed", "attempted_delivery", "returned", "return_to_sender", "exception", "lost"}
)
_SHIPPED_FULFILMENT = frozenset({"fulfilled", "partial", "shipped", "completed"})


def shipping_state(order: Order) -> ShippingState:
    """The order's :class:`ShippingState`: a delivery problem on any shipment wins, then
    delivered (every line, see :meth:`Order.is_delivered`), then in transit as soon as something
    left (or the platform says fulfilled without itemising shipments)."""
    statuses = [(s.status or "").lower() for s in order.shipments]
    if any(status in _ISSUE_STATUSES for status in statuses):
        return ShippingState.delivery_issue
    if order.is_delivered():
        return ShippingState.delivered
    if order.shipments or (order.fulfillment_status or "").lower() in _SHIPPED_FULFILMENT:
        return ShippingState.in_transit
    return ShippingState.not_shipped


# --- rules --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_KEYWORD_TOKEN = re.compile(r"[^\W_]+\*?")


@lru_cache(maxsize=4096)
def _keyword_tokens(keyword: str) -> tuple[str, ...]:
    """A keyword as folded words; a word ending in ``*`` matches any word it starts
    (``rembours*``: remboursement, rembourser, remboursé)."""
    return tuple(_KEYWORD_TOKEN.findall(fold(keyword)))


class QualificationConditions(DomainModel):
    """What a message must show for a rule to apply. Within a list any value will do; every
    non-empty list must be satisfied (keywords AND channel AND order state)."""

    keywords: list[str] = Field(
        default_factory=list,
        description="Words or phrases, matched on whole words of subject + text, accents and case "
        "ignored; a trailing * matches word starts (rembours*).",
    )
    channels: list[Channel] = Field(default_factory=list)
    order_stages: list[OrderStage] = Field(default_factory=list)
    payment_statuses: list[PaymentStatus] = Field(default_factory=list)
    shipping_states: list[ShippingState] = Field(default_factory=list)

    @field_validator("keywords")
    @classmethod
    def _keywords_have_words(cls, keywords: list[str]) -> list[str]:
        for keyword in keywords:
            tokens = _keyword_tokens(keyword)
            if not tokens or tokens[0] == "*":
                raise ValueError(f"keyword {keyword!r} has no word to match")
        return keywords

    def is_empty(self) -> bool:
        return not (
            self.keywords
            or self.channels
            or self.order_stages
            or self.payment_statuses
            or self.shipping_states
        )

    def needs_order(self) -> bool:
        return bool(self.order_stages or self.payment_statuses or self.shipping_states)


class QualificationRule(DomainModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    when: QualificationConditions
    type: TicketType | None = None
    topic: Topic | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _is_useful(self) -> QualificationRule:
        # A rule without conditions would swallow every message; without outcome it does nothing.
        if self.when.is_empty():
            raise ValueError(f"rule {self.id}: at least one condition is required")
        if self.type is None and self.topic is None:
            raise ValueError(f"rule {self.id}: sets neither a type nor a topic")
        if self.type is TicketType.unqualified:
            raise ValueError(f"rule {self.id}: 'unqualified' is what no rule matching means")
        return self


class QualificationRules(DomainModel):
    """An ordered rule set: earlier rules win ties."""

    rules: list[QualificationRule]
    fallback_type: TicketType | None = Field(
        default=TicketType.information,
        description="The type of a message whose topic is known but no rule gave a type "
        "('Suivi de mon colis' is a question about delivery). None leaves it unqualified.",
    )
    keep_channel_type: bool = Field(
        default=True,
        description="A type the channel decided (a missed call is a callback) is kept: the "
        "channel knows a fact that words in an automatic text cannot override.",
    )

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[QualificationRule]) -> list[QualificationRule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} is used twice")
            seen.add(rule.id)
        return rules


class MessageFields(DomainModel):
    """What qualification reads of a message."""

    channel: Channel
    subject: str | None = None
    text: str = ""
    preset_type: TicketType | None = None  # e.g. callback for a missed call

    @classmethod
    def from_inbound(cls, message: InboundMessage) -> MessageFields:
        """The message as the customer wrote it: the display text trims quoted email replies,
        whose words belong to an older exchange."""
        return cls(
            channel=message.channel,
            subject=message.subject,
            text=message.display_text if message.display_text is not None else message.text,
            preset_type=message.ticket_type,
        )


class Qualification(DomainModel):
    type: TicketType
    topic: Topic
    matched_rule_ids: list[str] = Field(default_factory=list)  # every matching rule, in rule order
    type_rule_id: str | None = None  # the rule that decided the type
    topic_rule_id: str | None = None
    reasons: list[str] = Field(default_factory=list)  # for the agent, in decision order


# --- matching -----------------------------------------------------------------------------


class _Words:
    """A message's folded words with their positions, for phrase matching on word boundaries."""

    def __init__(self, text: str) -> None:
        self.words = _WORD.findall(fold(text))
        self.positions: dict[str, list[int]] = {}
        for index, word in enumerate(self.words):
            self.positions.setdefault(word, []).append(index)

    def _starts(self, token: str) -> Iterable[int]:
        if token.endswith("*"):
            stem = token[:-1]
            for word, positions in self.positions.items():
                if word.startswith(stem):
                    yield from positions
        else:
            yield from self.positions.get(token, ())

    @staticmethod
    def _same(token: str, word: str) -> bool:
        return word.startswith(token[:-1]) if token.endswith("*") else word == token

    def contains(self, keyword: str) -> bool:
        tokens = _keyword_tokens(keyword)
        if not tokens:
            return False
        for start in self._starts(tokens[0]):
            end = start + len(tokens)
            if end <= len(self.words) and all(
                self._same(token, word)
                for token, word in zip(tokens[1:], self.words[start + 1 : end], strict=True)
            ):
                return True
        return False


def _match(rule: QualificationRule, fields: MessageFields, words: _Words, order: Order | None) -> str | None:
    """Why ``rule`` applies to the message, or None."""
    when = rule.when
    why: list[str] = []
    if when.keywords:
        found = [keyword for keyword in when.keywords if words.contains(keyword)]
        if not found:
            return None
        why.append("keyword " + ", ".join(f'"{k}"' for k in found[:3]))
    if when.channels:
        if fields.channel not in when.channels:
            return None
        why.append(f"channel {fields.channel.value}")
    if when.needs_order():
        if order is None:
            return None
        if when.order_stages:
            if order.stage not in when.order_stages:
                return None
            why.append(f"order {order.number} at stage {order.stage.value}")
        if when.payment_statuses:
            if order.payment.status not in when.payment_statuses:
                return None
            why.append(f"order {order.number} payment {order.payment.status.value}")
        if when.shipping_states:
            state = shipping_state(order)
            if state not in when.shipping_states:
                return None
            why.append(f"order {order.number} shipping {state.value}")
    return "; ".join(why)


def qualify(
    fields: MessageFields | InboundMessage,
    order: Order | None = None,
    rules: QualificationRules | None = None,
) -> Qualification:
    """The type and topic of a message, from ``rules`` (:data:`DEFAULT_RULES` when None).

    Nothing matching gives ``unqualified`` / ``general``: the ticket waits in the general queue
    for an agent to qualify it, rather than in a wrong specialist queue.
    """
    if isinstance(fields, InboundMessage):
        fields = MessageFields.from_inbound(fields)
    rule_set = DEFAULT_RULES if rules is None else rules
    text = "\n".join(part for part in (fields.subject, fields.text) if part)[:MAX_TEXT_LENGTH]
    words = _Words(text)

    ticket_type: TicketType | None = None
    topic: Topic | None = None
    type_rule: str | None = None
    topic_rule: str | None = None
    matched: list[str] = []
    reasons: list[str] = []
    if rule_set.keep_channel_type and fields.preset_type not in (None, TicketType.unqualified):
        ticket_type = fields.preset_type
        reasons.append(f"type {fields.preset_type} set by the {fields.channel.value} channel")

    for rule in rule_set.rules:
        if not rule.enabled:
            continue
        why = _match(rule, fields, words, order)
        if why is None:
            continue
        matched.append(rule.id)
        decided: list[str] = []
        if rule.type is not None and ticket_type is None:
            ticket_type, type_rule = rule.type, rule.id
            decided.append(f"type {rule.type.value}")
        if rule.topic is not None and topic is None:
            topic, topic_rule = rule.topic, rule.id
            decided.append(f"topic {rule.topic.value}")
        if decided:
            reasons.append(f"{' and '.join(decided)} by rule {rule.id} ({why})")

    if ticket_type is None and topic is not None and rule_set.fallback_type is not None:
        ticket_type = rule_set.fallback_type
        reasons.append(f"type {ticket_type.value}: a topic was found but no request type")
    if ticket_type is None and topic is None:
        reasons.append("no rule matched: left for an agent to qualify")
    return Qualification(
        type=ticket_type or TicketType.unqualified,
        topic=topic or Topic.general,
        matched_rule_ids=matched,
        type_rule_id=type_rule,
        topic_rule_id=topic_rule,
        reasons=reasons,
    )


# --- defaults -----------------------------------------------------------------------------


def _rule(
    rule_id: str,
    description: str,
    *,
    keywords: list[str] | None = None,
    shipping_states: list[ShippingState] | None = None,
    payment_statuses: list[PaymentStatus] | None = None,
    order_stages: list[OrderStage] | None = None,
    ticket_type: TicketType | None = None,
    topic: Topic | None = None,
) -> QualificationRule:
    return QualificationRule(
        id=rule_id,
        description=description,
        when=QualificationConditions(
            keywords=keywords or [],
            shipping_states=shipping_states or [],
            payment_statuses=payment_statuses or [],
            order_stages=order_stages or [],
        ),
        type=ticket_type,
        topic=topic,
    )


# Order matters twice: the first rule with a type decides the type, the first with a topic the
# topic. Complaints come first (an angry customer asking for a refund on an invoice is a
# complaint, whatever else it is); order changes before delivery ("adresse de livraison" is a
# change to make in the back office); billing and delivery before tech support ("le paiement ne
# fonctionne pas" is assistance, handled by billing); order-state rules last, as a fallback.
DEFAULT_RULES = QualificationRules(
    rules=[
        _rule(
            "complaint",
            "Complaints, refund requests, damaged goods",
            keywords=[
                # French
                "réclamation",
                "réclamer",
                "plainte",
                "porter plainte",
                "inadmissible",
                "inacceptable",
                "scandale",
                "scandaleux",
                "honteux",
                "rembours*",
                "mécontent",
                "mécontente",
                "déçu",
                "déçue",
                "pas normal",
                "litige",
                "cassé",
                "cassée",
                "cassés",
                "abîmé",
                "abîmée",
                "endommagé",
                "endommagée",
                "défectueux",
                "défectueuse",
                "arnaque",
                # English
                "complaint",
                "complain",
                "refund*",
                "unacceptable",
                "outrageous",
                "disappointed",
                "not happy",
                "unhappy",
                "broken",
                "damaged",
                "defective",
                "scam",
                "money back",
            ],
            ticket_type=TicketType.complaint,
        ),
        _rule(
            "order-change",
            "Changing or cancelling an order, its address or its contents",
            keywords=[
                "modifier ma commande",
                "modifier la commande",
                "modification de commande",
                "modification de ma commande",
                "changer ma commande",
                "changer la commande",
                "annuler",
                "annulation",
                "adresse de livraison",
                "changer d'adresse",
                "change my order",
                "modify my order",
                "amend my order",
                "cancel",
                "cancellation",
                "delivery address",
                "shipping address",
                "change the address",
                "change my address",
            ],
            ticket_type=TicketType.order_change,
            topic=Topic.back_office,
        ),
        _rule(
            "where-is-shipped-order",
            "A 'where is it' question about an order that has left the warehouse",
            keywords=[
                "où est",
                "où en est",
                "quand vais-je recevoir",
                "quand est-ce que je vais recevoir",
                "toujours pas reçu",
                "where is",
                "where's",
                "when will i receive",
                "when will i get",
                "still not received",
                "still waiting",
            ],
            shipping_states=[ShippingState.in_transit, ShippingState.delivery_issue],
            ticket_type=TicketType.information,
            topic=Topic.delivery,
        ),
        _rule(
            "billing",
            "Invoices, payments, direct debits",
            keywords=[
                "facture",
                "factures",
                "facturation",
                "facturé",
                "facturée",
                "paiement",
                "payer",
                "prélèvement",
                "prélevé",
                "prélevée",
                "débité",
                "débitée",
                "carte bancaire",
                "virement",
                "échéance",
                "TVA",
                "invoice*",
                "payment",
                "payments",
                "billing",
                "billed",
                "charged",
                "direct debit",
                "credit card",
                "bank transfer",
                "VAT",
            ],
            topic=Topic.billing,
        ),
        _rule(
            "delivery",
            "Delivery, parcels, tracking",
            keywords=[
                "livraison",
                "livrer",
                "livré",
                "livrée",
                "colis",
                "suivi",
                "numéro de suivi",
                "transporteur",
                "expédition",
                "expédié",
                "expédiée",
                "pas arrivé",
                "pas arrivée",
                "pas reçu",
                "jamais reçu",
                "où est ma commande",
                "tracking",
                "parcel",
                "package",
                "delivery",
                "delivered",
                "deliver",
                "shipping",
                "shipped",
                "shipment",
                "courier",
                "carrier",
                "not arrived",
                "hasn't arrived",
                "never arrived",
                "not received",
                "never received",
                "where is my order",
            ],
            topic=Topic.delivery,
        ),
        _rule(
            "tech-support",
            "Something does not work: breakdowns, bugs, log-in problems",
            keywords=[
                "panne",
                "en panne",
                "ne fonctionne pas",
                "ne fonctionne plus",
                "fonctionne pas",
                "ne marche pas",
                "ne marche plus",
                "marche pas",
                "marche plus",
                "fonctionne plus",
                "bug",
                "bugs",
                "bogue",
                "plantage",
                "ça plante",
                "erreur",
                "connexion",
                "me connecter",
                "se connecter",
                "mot de passe",
                "identifiant",
                "not working",
                "doesn't work",
                "does not work",
                "stopped working",
                "error",
                "crash*",
                "can't log in",
                "cannot log in",
                "can't login",
                "login",
                "log in",
                "password",
                "outage",
            ],
            ticket_type=TicketType.assistance,
            topic=Topic.tech_support,
        ),
        _rule(
            "sales",
            "Buying: quotes, prices, availability",
            keywords=[
                "devis",
                "acheter",
                "achat",
                "commander",
                "tarif",
                "tarifs",
                "prix",
                "combien coûte",
                "combien ça coûte",
                "en stock",
                "disponibilité",
                "quote",
                "quotation",
                "buy",
                "purchase",
                "price",
                "prices",
                "pricing",
                "how much",
                "in stock",
                "availability",
            ],
            ticket_type=TicketType.information,
            topic=Topic.sales,
        ),
        _rule(
            "information",
            "General questions: opening hours, information requests",
            keywords=[
                "horaires",
                "heures d'ouverture",
                "êtes-vous ouvert",
                "ouvert le",
                "ouverts le",
                "information",
                "informations",
                "renseignement",
                "renseignements",
                "question",
                "questions",
                "savoir si",
                "est-il possible",
                "opening hours",
                "open on",
                "info",
                "is it possible",
                "how do i",
                "i would like to know",
            ],
            ticket_type=TicketType.information,
        ),
        _rule(
            "payment-problem-order",
            "Any message about an order whose payment failed or was refused",
            payment_statuses=[PaymentStatus.failed, PaymentStatus.voided],
            topic=Topic.billing,
        ),
        _rule(
            "delivery-problem-order",
            "Any message about an order whose delivery failed",
            shipping_states=[ShippingState.delivery_issue],
            topic=Topic.delivery,
        ),
        _rule(
            "shipped-order",
            "Any message about an order on its way",
            shipping_states=[ShippingState.in_transit],
            topic=Topic.delivery,
        ),
        _rule(
            "quote-order",
            "Any message about a quote not yet accepted",
            order_stages=[OrderStage.quote],
            topic=Topic.sales,
        ),
    ]
)
