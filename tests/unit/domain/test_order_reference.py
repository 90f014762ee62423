"""Order numbers quoted in free text (WhatsApp, SMS, email): found, or nothing."""

from __future__ import annotations

import pytest

from shared.domain.order_reference import order_number_in


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Où est ma commande #1001 ?", "#1001"),
        ("commande n° 1234 pas reçue", "#1234"),
        ("Commande N°2026001", "#2026001"),
        ("Order number: 56789", "#56789"),
        ("cde 445 incomplète", "#445"),
        ("Hello, #1001 never arrived", "#1001"),
    ],
)
def test_an_order_reference_in_the_words_is_found(text, number):
    assert order_number_in(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "Re: [#K7M3Q9XA] colis",  # our ticket token, not an order
        "J'habite au 12 rue des Lilas",
        "Appelez-moi au 06 12 34 56 78",
        "ticket #12 ok",  # too short to be an order number
        "caf&#1234;",  # an HTML entity
        "",
    ],
)
def test_other_numbers_are_not_order_references(text):
    assert order_number_in(text) is None


def test_the_subject_is_read_before_the_text():
    assert order_number_in("Commande 2001", "ma commande 3003 aussi") == "#2001"
    assert order_number_in(None, "ma commande 3003") == "#3003"
