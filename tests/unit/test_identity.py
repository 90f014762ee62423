import pytest

from shared.domain.identity import (
    IdentityKind,
    InvalidIdentifier,
    normalize,
    normalize_email,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jean.Martin@Example.NET", "jean.martin@example.net"),
        ("  lea@example.com ", "lea@example.com"),
        ("amelie@Élan.fr", "amelie@xn--lan-9la.fr"),
        ("amelie@élan.fr", "amelie@xn--lan-9la.fr"),
    ],
)
def test_emails_are_lowercased_with_idna_domains(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "jean", "a@b", "a@@b.fr", "jean martin@example.com"])
def test_impossible_emails_are_refused(raw):
    with pytest.raises(InvalidIdentifier):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("whatsapp:+33612345678", "+33612345678"),
        ("33612345678", "+33612345678"),  # wa_id: international without "+"
        ("+1 415-555-0100", "+14155550100"),
    ],
)
def test_phones_become_e164(raw, expected):
    assert normalize_phone(raw) == expected


def test_the_same_person_writes_the_same_identity_on_every_channel():
    sms = normalize(IdentityKind.phone, "+33612345678")
    form = normalize(IdentityKind.phone, "06.12.34.56.78")
    whatsapp = normalize(IdentityKind.whatsapp, "33612345678")
    assert sms == form
    assert whatsapp == sms.lstrip("+")


def test_garbage_is_not_a_phone_number():
    with pytest.raises(InvalidIdentifier):
        normalize_phone("call me maybe")
