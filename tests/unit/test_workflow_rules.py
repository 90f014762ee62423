"""Pure rules of the order workflow: planning, validation, commissioning, billing, invoices,
alerts (channel, languages, SMS segments) and surveys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from shared.domain.alerts import AlertChannel, choose_recipient, fit_sms, render, to_gsm7
from shared.domain.catalog import Product, Technician, WorkingWindow, available_slots, required_skills
from shared.domain.common import Address
from shared.domain.customer import Customer, Identity
from shared.domain.identity import IdentityKind, Proof
from shared.domain.invoice import build_invoice, check_totals, invoice_number
from shared.domain.invoice_pdf import render_pdf
from shared.domain.order import BillableStatus, Order, OrderLine, OrderSource
from shared.domain.outbound_rules import SmsEncoding, sms_info
from shared.domain.quote import Quote, QuoteLine, order_from_quote, order_id_for
from shared.domain.survey import looks_like_token, new_survey, reminder_due
from shared.domain.workflow import (
    AlertKind,
    CommissioningReport,
    InvoiceMismatch,
    alert_key,
    apply_commissioning,
    lines_blocking_billing,
    mark_billed,
    validate_for_reception,
)
from shared.domain.workflow import (
    TestResult as Check,
)

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # a Wednesday
ADDRESS = Address(
    name="Alice Martin", line1="12 rue des Lilas", postal_code="69003", city="Lyon", country="FR"
)
FIBRE = Product(
    sku="FIBRE", title="Installation fibre", unit_price=Decimal("99.00"), is_service=True, skill="fiber"
)
ROUTER = Product(sku="ROUTER", title="Routeur", unit_price=Decimal("149.90"), stock_tracked=True)


def _tech(tech_id: str, skills: list[str], zone: str = "Europe/Paris") -> Technician:
    windows = [WorkingWindow(weekday=d, start=time(8), end=time(12)) for d in range(5)]
    return Technician(id=tech_id, name=tech_id, skills=skills, windows=windows, timezone=zone)


def _order(**extra: object) -> Order:
    fields: dict[str, object] = {
        "id": "O1",
        "number": "CMD-2026-X",
        "source": OrderSource.portal,
        "customer_id": "C1",
        "lines": [
            OrderLine(
                id="L1", sku="FIBRE", title="Installation fibre", quantity=1, unit_price=Decimal("99.00")
            ),
            OrderLine(id="L2", sku="ROUTER", title="Routeur", quantity=2, unit_price=Decimal("149.90")),
        ],
        "billing_address": ADDRESS,
        "shipping_address": ADDRESS,
        "total": Decimal("478.56"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(extra)
    return Order.model_validate(fields)


def _customer(**identities: str) -> Customer:
    return Customer(
        id="C1",
        identities=[
            Identity(kind=IdentityKind(k), value=v, first_seen_at=NOW, proof=Proof.provider)
            for k, v in identities.items()
        ],
        created_at=NOW,
        updated_at=NOW,
    )


# ------------------------------------------------------------------ planning
def test_slots_start_tomorrow_in_the_technicians_zone_soonest_first() -> None:
    slots = available_slots([_tech("T1", ["fiber"])], {"fiber"}, set(), NOW, limit=3)
    assert [s.start for s in slots] == [
        datetime(2026, 11, 26, 7, 0, tzinfo=UTC),  # 08:00 Paris (UTC+1 in November)
        datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
    ]
    assert all(s.end - s.start == timedelta(hours=2) for s in slots)


def test_booked_slots_skills_and_inactive_technicians_are_left_out() -> None:
    booked = {("T1", datetime(2026, 11, 26, 7, 0, tzinfo=UTC))}
    inactive = _tech("T3", ["fiber"]).model_copy(update={"active": False})
    slots = available_slots(
        [_tech("T1", ["fiber"]), _tech("T2", ["alarm"]), inactive], {"fiber"}, booked, NOW
    )
    assert {s.technician_id for s in slots} == {"T1"}
    assert datetime(2026, 11, 26, 7, 0, tzinfo=UTC) not in [s.start for s in slots]


def test_weekends_have_no_slots_and_not_before_is_honoured() -> None:
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    (first,) = available_slots([_tech("T1", [])], set(), set(), friday, limit=1)
    assert first.start.weekday() == 0  # Monday
    later = available_slots([_tech("T1", [])], set(), set(), NOW, not_before=NOW + timedelta(days=3), limit=1)
    assert later[0].start >= NOW + timedelta(days=3)


def test_required_skills_come_from_service_lines() -> None:
    assert required_skills([FIBRE, ROUTER]) == {"fiber"}


# ------------------------------------------------------------------ reception
def test_reception_validation_names_each_problem() -> None:
    order = _order(
        billing_address=ADDRESS.model_copy(update={"postal_code": None}),
        lines=[
            OrderLine(id="L1", sku="FIBRE", title="x", quantity=1, unit_price=Decimal("0")),
            OrderLine(id="L2", sku="GONE", title="x", quantity=1, unit_price=Decimal("10")),
            OrderLine(id="L3", sku="ROUTER", title="x", quantity=1, unit_price=Decimal("10")),
        ],
    )
    closed = ROUTER.model_copy(update={"orderable": False})
    problems = validate_for_reception(order, None, {"FIBRE": FIBRE, "ROUTER": closed})
    messages = {(p.field, p.message) for p in problems}
    assert ("customer_id", "unknown customer") in messages
    assert ("lines[L1]", "FIBRE: no price") in messages
    assert ("lines[L2]", "GONE: not in the catalog") in messages
    assert ("lines[L3]", "ROUTER: not orderable") in messages
    assert any(p.field == "billing_address" for p in problems)
    assert (
        validate_for_reception(_order(), _customer(email="a@b.fr"), {"FIBRE": FIBRE, "ROUTER": ROUTER}) == []
    )


def test_a_quote_becomes_the_same_order_every_time() -> None:
    quote = Quote(
        id="Q1",
        number="DEV-2026-ABC",
        customer_id="C1",
        lines=[
            QuoteLine(
                sku="FIBRE", title="Fibre", quantity=1, unit_price=Decimal("99.00"), vat_rate=Decimal("0.2")
            )
        ],
        billing_address=ADDRESS,
        shipping_address=ADDRESS,
        valid_until=NOW,
        created_by="agent",
        created_at=NOW,
        updated_at=NOW,
    )
    order = order_from_quote(quote, NOW)
    assert order.id == order_id_for("Q1") == order_from_quote(quote, NOW + timedelta(hours=1)).id
    assert order.number == "CMD-2026-ABC" and order.total == Decimal("118.80")
    assert [e.stage.value for e in order.stage_history] == ["reception"]


# ------------------------------------------------------------------ installation and billing
def _report(passed: bool, installed: list[str] | None = None) -> CommissioningReport:
    return CommissioningReport(
        attempt=1,
        tests=[
            Check(name="ping", result="passed"),
            Check(name="speed", result="passed" if passed else "failed"),
        ],
        installed_line_ids=installed,
        received_at=NOW,
        received_by="agent",
    )


def test_a_passed_commissioning_makes_installed_lines_billable() -> None:
    assert _report(True).passed and not _report(False).passed
    assert [t.name for t in _report(False).failed_tests()] == ["speed"]
    all_lines = apply_commissioning(_order(), _report(True))
    assert lines_blocking_billing(all_lines) == []
    partial = apply_commissioning(_order(), _report(True, installed=["L1"]))
    assert [line.id for line in lines_blocking_billing(partial)] == ["L2"]


def test_invoice_vat_per_line_totals_and_gapless_number_format() -> None:
    order = mark_billed(apply_commissioning(_order(), _report(True)))
    assert {line.billable_status for line in order.lines} == {BillableStatus.billed}
    invoice = build_invoice(order, 2026, 42, NOW)
    assert invoice.number == invoice_number(2026, 42) == "F2026-000042"
    assert [(i.amount_excl_vat, i.vat) for i in invoice.lines] == [
        (Decimal("99.00"), Decimal("19.80")),
        (Decimal("299.80"), Decimal("59.96")),
    ]
    assert invoice.total_excl_vat == Decimal("398.80")
    assert invoice.total_vat == Decimal("79.76") == invoice.vat_breakdown["0.20"]
    assert invoice.total_incl_vat == Decimal("478.56") == order.total
    pdf = render_pdf(invoice, "fr")
    assert b"(Guichet - Facture F2026-000042)" in pdf and b"(Total TTC)" in pdf and b"(478.56 EUR)" in pdf
    assert b"Invoice F2026-000042" in render_pdf(invoice, "en")


def test_an_invoice_that_disagrees_with_the_order_is_refused() -> None:
    billable = apply_commissioning(_order(total=Decimal("500.00")), _report(True))
    with pytest.raises(InvoiceMismatch, match="differs from the order total"):
        build_invoice(billable, 2026, 1, NOW)
    with pytest.raises(InvoiceMismatch, match="billing address"):
        build_invoice(billable.model_copy(update={"billing_address": None}), 2026, 1, NOW)
    with pytest.raises(InvoiceMismatch, match="no billable line"):
        build_invoice(_order(), 2026, 1, NOW)
    # Lines marked not billable are left out; the order total is then not comparable.
    partial = apply_commissioning(_order(), _report(True, installed=["L1"]))
    lines = [
        line.model_copy(update={"billable_status": BillableStatus.not_billable}) if line.id == "L2" else line
        for line in partial.lines
    ]
    invoice = build_invoice(partial.model_copy(update={"lines": lines}), 2026, 2, NOW)
    assert invoice.total_incl_vat == Decimal("118.80")
    tampered = invoice.model_copy(update={"total_vat": Decimal("1")})
    with pytest.raises(InvoiceMismatch):
        check_totals(tampered, partial)


def test_the_invoice_pdf_is_well_formed_escaped_and_flows_onto_pages() -> None:
    order = apply_commissioning(_order(total=Decimal("0")), _report(True))
    odd = ADDRESS.model_copy(update={"name": "Zo\u00e9 (Martin) \\ fils"})
    pdf = render_pdf(build_invoice(order.model_copy(update={"billing_address": odd}), 2026, 1, NOW))
    assert pdf.startswith(b"%PDF-1.4") and pdf.endswith(b"%%EOF\n")
    assert b"(Zo\xe9 \\(Martin\\) \\\\ fils)" in pdf  # WinAnsi, parentheses and backslash escaped
    _check_xref(pdf)
    many = [
        OrderLine(
            id=f"L{n}",
            title=f"Article {n}",
            quantity=1,
            unit_price=Decimal("1"),
            billable_status=BillableStatus.billable,
        )
        for n in range(120)
    ]
    long = render_pdf(build_invoice(_order(lines=many, total=Decimal("0")), 2026, 2, NOW))
    assert b"/Count 3" in long and b"(Article 119)" in long
    _check_xref(long)


def _check_xref(pdf: bytes) -> None:
    """Every xref offset points at its object, and startxref at the table (readers rely on it)."""
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:].startswith(b"xref\n")
    lines = pdf[start:].split(b"\n")
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number].split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


# ------------------------------------------------------------------ alerts
def test_email_first_then_sms_then_nobody() -> None:
    both = _customer(email="alice@example.com", phone="+33612345678")
    assert choose_recipient(both) is not None and choose_recipient(both).channel is AlertChannel.email  # type: ignore[union-attr]
    sms = choose_recipient(_customer(phone="+33612345678"))
    assert sms is not None and sms.channel is AlertChannel.sms and sms.address == "+33612345678"
    assert choose_recipient(_customer()) is None
    assert choose_recipient(_customer(), fallback_email="shop@example.com").address == "shop@example.com"  # type: ignore[union-attr]
    assert choose_recipient(_customer(), fallback_phone="0612345678") is None  # not E.164: no SMS


def test_every_alert_renders_in_french_and_english() -> None:
    fields = {
        "order_number": "CMD-1",
        "when": "01/12/2026 à 08:00",
        "technician": "Bruno",
        "link": "https://x/s/t",
        "invoice_number": "F2026-000001",
        "amount": "478.56 EUR",
    }
    for kind in AlertKind:
        fr, en = render(kind, "fr", fields), render(kind, "en-GB", fields)
        assert "CMD-1" in fr.text + fr.subject and "CMD-1" in en.text + en.subject
        assert fr.subject != en.subject
        assert fr.html.startswith("<!doctype html>") and 'lang="fr"' in fr.html
        for rendered in (fr, en):
            info = sms_info(rendered.sms)
            assert info.encoding is SmsEncoding.gsm7 and info.segments == 1, (kind, rendered.sms)
    assert render(AlertKind.received, "de", fields).subject.startswith("Commande")  # French by default
    survey = render(AlertKind.survey, "fr", fields)
    assert '<a href="https://x/s/t">' in survey.html


def test_alert_html_escapes_fields() -> None:
    rendered = render(AlertKind.scheduled, "fr", {"order_number": "<b>1</b>", "when": "x", "technician": "y"})
    assert "<b>1</b>" not in rendered.html and "&lt;b&gt;1&lt;/b&gt;" in rendered.html


def test_sms_text_is_normalised_to_gsm7_and_cut_at_a_word() -> None:
    # e circumflex, French quotes, en dash, curly apostrophe: none is GSM-7 (é is)
    assert (
        to_gsm7("Pr\u00eate ? \u00abOui\u00bb \u2013 l\u2019\u00e9quipe") == 'Prete ? "Oui" - l\'\u00e9quipe'
    )
    long = "Commande CMD-1: " + "installation " * 20 + "https://example.com/s/token"
    fitted = fit_sms(long)
    assert sms_info(fitted).segments == 1 and fitted.endswith("...")
    assert "https://example.com/s/token" in fitted  # the link survives the cut


def test_alert_keys_are_per_kind_and_attempt() -> None:
    assert alert_key(AlertKind.received) == "received"
    assert alert_key(AlertKind.rescheduled, 2) == "rescheduled-2"


# ------------------------------------------------------------------ surveys
def test_survey_reminders_after_n_days_up_to_r_times() -> None:
    survey = new_survey("O1", "CMD-1", "C1", "T1", NOW)
    assert looks_like_token(survey.token) and not looks_like_token("../etc") and not looks_like_token("x")
    assert not reminder_due(survey, NOW + timedelta(days=2), 3, 2)
    assert reminder_due(survey, NOW + timedelta(days=3), 3, 2)
    twice = survey.model_copy(update={"reminders_sent": 2})
    assert not reminder_due(twice, NOW + timedelta(days=30), 3, 2)
    answered = survey.model_copy(update={"answered_at": NOW})
    assert not reminder_due(answered, NOW + timedelta(days=30), 3, 2)
    assert new_survey("O1", "CMD-1", "C1", None, NOW).id == survey.id  # one survey per order
    assert new_survey("O1", "CMD-1", "C1", None, NOW).token != survey.token
