"""Search keys: how names, emails, phones, order numbers and ticket references become index items.

The search API may not Scan, so every searchable value is written as index items whose sort key
starts with a normalised *term*; a query is then a handful of ``begins_with`` Queries. Terms are
folded (accents, case and spacing ignored) so "Élodie  MÜLLER" is found by "elodie mul".

Partitions hold the terms that share their first three characters
(``SEARCH#<kind>#<first 3 chars>``): a prefix query must therefore bring at least three
characters, and a shorter one is refused with a message the agent can act on rather than
answered with a partition-wide read.

Sort keys are ``<term>#<entity id>``. A prefix query on ``<term>`` returns exact and longer
matches mixed, and exact ones do not sort first ("dupont jean#" sorts before "dupont#", a space
being below "#"), so the plan also carries an exact query on ``<term>#`` whose results are never
crowded out by a page limit.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import NamedTuple

import phonenumbers

from shared.domain.errors import InvalidInput
from shared.domain.identity import InvalidIdentifier, normalize_email

MIN_QUERY_LENGTH = 3  # also the length of the partition prefix
MAX_TERM_LENGTH = 100  # well under DynamoDB's 1,024-byte sort key, with room for the entity id
MAX_NAME_TERMS = 12  # bounds the index writes per profile, whatever the name looks like
SEPARATOR = "#"
PK_PREFIX = "SEARCH"


class SearchKind(StrEnum):
    name = "name"
    email = "email"
    phone = "phone"
    order = "order"
    ticket = "ticket"


class QueryTooShort(InvalidInput):
    """A query too short to pick a partition: answering it would mean reading a whole kind."""

    def __init__(self, query: str) -> None:
        super().__init__(
            [
                {
                    "field": "q",
                    "message": f"type at least {MIN_QUERY_LENGTH} letters or digits to search "
                    f"(got {query.strip()!r})",
                }
            ]
        )
        self.query = query


class SearchQuery(NamedTuple):
    """One DynamoDB Query of a search: ``pk = :pk AND begins_with(sk, :sk_prefix)``."""

    kind: SearchKind
    pk: str
    sk_prefix: str

    @property
    def exact(self) -> bool:
        """True for the query that only returns entities whose term is the query itself."""
        return self.sk_prefix.endswith(SEPARATOR)


# --- folding ------------------------------------------------------------------------------

# Letters NFKD does not decompose, and the typographic variants people paste from word processors.
_TRANSLATE = str.maketrans(
    {
        "œ": "oe",
        "Œ": "oe",
        "æ": "ae",
        "Æ": "ae",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, the French apostrophe
        "\u02bc": "'",  # modifier letter apostrophe
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
    }
)


def fold(text: str) -> str:
    """Accent-, case- and spacing-insensitive form of ``text`` (``"  Élodie   Müller"`` ->
    ``"elodie muller"``; ``"Cœur"`` -> ``"coeur"``; ``"Straße"`` -> ``"strasse"``).

    casefold comes before NFKD so that letters whose case folding adds a combining mark (``İ``)
    lose it too; NFKD also turns ligatures and full-width digits into plain characters.
    """
    folded = text.translate(_TRANSLATE).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


# --- terms per kind -----------------------------------------------------------------------

_NAME_JOINERS = re.compile(r"[-']+")
_PHONE_NOISE = re.compile(r"[\s().\-/]+")
_DIGITS = re.compile(r"\d+")
_ALNUM = re.compile(r"[^\W_]+")
# Crockford base32 (shared.domain.ids) and the letters a person may say or type instead.
_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_TICKET_LENGTH = 8


def _unique(terms: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for term in terms:
        clipped = term[:MAX_TERM_LENGTH].strip()
        if clipped:
            seen.setdefault(clipped, None)
    return list(seen)


def _name_terms(value: str) -> list[str]:
    """Full name, the full name with hyphens and apostrophes as spaces, the last word first
    (agents type "DUPONT Jean" as often as "Jean Dupont"), and every word and word part."""
    folded = fold(value)
    spaced = " ".join(_NAME_JOINERS.sub(" ", folded).split())
    words = spaced.split()
    terms = [folded, spaced]
    if len(words) > 1:
        terms.append(" ".join([words[-1], *words[:-1]]))
    terms.extend(folded.split())
    terms.extend(words)
    return _unique(terms)[:MAX_NAME_TERMS]


def _email_terms(value: str) -> list[str]:
    """The address as identities store it (lowercase, IDNA domain), its local part and the local
    part without a ``+tag``, so "jean.dupont" finds ``jean.dupont+shop@example.fr``."""
    try:
        address = normalize_email(value)
    except InvalidIdentifier:
        address = value.strip().lower()
    local = address.split("@", 1)[0]
    return _unique([address, local, local.split("+", 1)[0]])


def _phone_terms(value: str) -> list[str]:
    """E.164 digits (``33612345678``), the national form people dial (``0612345678``), the
    national significant number (``612345678``) and the last nine digits: whichever way an agent
    types a number, one of these starts with it."""
    digits_only = "".join(_DIGITS.findall(value))
    raw = value.strip()
    if raw.isdigit() and len(raw) > 10:
        raw = "+" + raw  # wa_id and Twilio numbers without "+" are international
    try:
        parsed: phonenumbers.PhoneNumber | None = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return _unique([digits_only, digits_only[-9:]])
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    national = "".join(
        _DIGITS.findall(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    )
    significant = phonenumbers.national_significant_number(parsed)
    return _unique([e164, national, significant, e164[-9:]])


def _order_term(value: str) -> str:
    """Letters and digits only, folded: "#1001", "1001", "CMD-2026-0042", "cmd 2026 0042" and
    "CMD20260042" are how people quote the same numbers. One term per order, whatever the query
    writes, instead of one per spelling (a "#" variant would be an index write no query reads)."""
    return "".join(_ALNUM.findall(fold(value)))


def _ticket_term(value: str) -> str:
    """``[#k7m3q9xa]``, ``#K7M3Q9XA`` and ``k7m3q9xa`` are the same reference; O, I and L
    become 0, 1 and 1 as Crockford decoding does, so a reference read over the phone matches."""
    return value.strip().strip("[]#").strip().upper().translate(_CROCKFORD_ALIASES)


def _searchable(term: str) -> bool:
    """At least three letters or digits: "a b" or "[#]" say nothing a partition could serve."""
    return sum(c.isalnum() for c in term) >= MIN_QUERY_LENGTH


def search_terms(kind: SearchKind, value: str) -> list[str]:
    """Every normalised term under which ``value`` can be found, without duplicates.

    Terms with fewer than :data:`MIN_QUERY_LENGTH` letters or digits are left out: no accepted
    query could reach them (a two-letter first name is still found through the full name).
    """
    if kind is SearchKind.name:
        terms = _name_terms(value)
    elif kind is SearchKind.email:
        terms = _email_terms(value)
    elif kind is SearchKind.phone:
        terms = _phone_terms(value)
    elif kind is SearchKind.order:
        terms = _unique([_order_term(value)])
    else:
        terms = _unique([_ticket_term(value)])
    return [term for term in terms if _searchable(term)]


def partition_key(kind: SearchKind, term: str) -> str:
    return f"{PK_PREFIX}{SEPARATOR}{kind.value}{SEPARATOR}{term[:MIN_QUERY_LENGTH]}"


def index_keys(kind: SearchKind, value: str, entity_id: str) -> list[tuple[str, str]]:
    """The (pk, sk) of every index item that makes ``entity_id`` findable by ``value``.

    The entity id ends the sort key, so it may not contain the separator (the term may: an order
    number "#1001" gives ``#1001#<id>``, split from the right by :func:`split_sort_key`).
    """
    if not entity_id or SEPARATOR in entity_id:
        raise ValueError(f"an entity id is non-empty and has no {SEPARATOR!r}: {entity_id!r}")
    return [
        (partition_key(kind, term), f"{term}{SEPARATOR}{entity_id}") for term in search_terms(kind, value)
    ]


def split_sort_key(sk: str) -> tuple[str, str]:
    """(term, entity id) of an index item's sort key."""
    term, _, entity_id = sk.rpartition(SEPARATOR)
    return term, entity_id


# --- free queries -------------------------------------------------------------------------


def _ticket_like(query: str) -> str | None:
    term = _ticket_term(query)
    if not MIN_QUERY_LENGTH <= len(term) <= _TICKET_LENGTH or not set(term) <= _CROCKFORD:
        return None
    # Shorter than a full reference: only the mix of letters and digits a random reference
    # shows, or every word ("BERNARD") and every number ("1001") would also be a reference.
    if len(term) < _TICKET_LENGTH and (term.isdigit() or term.isalpha()):
        return None
    return term


def classify(query: str) -> list[SearchKind]:
    """The kinds of value ``query`` may be, most likely first.

    Deliberately inclusive where the shape is ambiguous: "1001" may be an order number or the
    start of a phone number, "MARTINEZ" a name or a ticket reference (eight Crockford letters),
    and a single word may be a name or the local part of an email address. Each extra kind
    costs one or two small Queries, where a wrong guess would cost the agent the result.
    """
    stripped = query.strip()
    if "@" in stripped:
        return [SearchKind.email]
    kinds: list[SearchKind] = []
    compact = _PHONE_NOISE.sub("", stripped)
    has_digit = any(c.isdigit() for c in stripped)
    if compact.startswith("+") and compact[1:].isdigit():
        return [SearchKind.phone]
    if compact.isdigit():
        spaced = bool(re.search(r"[\s().]", stripped))  # "06 12 34", "(0)6.12": never an order number
        if spaced or compact.startswith("0"):
            kinds.append(
                SearchKind.phone
            )  # people dial "06...", "0033...": order numbers rarely start with 0
        else:
            kinds.extend([SearchKind.order, SearchKind.phone])  # "1001", "612345678"
    elif stripped.startswith("#") or has_digit:
        kinds.append(SearchKind.order)
    if _ticket_like(stripped) is not None:
        kinds.append(SearchKind.ticket)
    if not has_digit and not stripped.startswith("#"):
        kinds.append(SearchKind.name)
        if " " not in stripped:
            kinds.append(SearchKind.email)
    return kinds or [SearchKind.name]


def _query_term(kind: SearchKind, query: str) -> str:
    """The query normalised the way :func:`search_terms` normalised the indexed values."""
    stripped = query.strip()
    if kind is SearchKind.email:
        try:
            return normalize_email(stripped)
        except InvalidIdentifier:
            return stripped.lower()
    if kind is SearchKind.phone:
        digits = "".join(_DIGITS.findall(stripped))
        if not stripped.startswith("+") and digits.startswith("00"):
            digits = digits[2:]  # 0033 6... is +33 6...
        return digits
    if kind is SearchKind.order:
        return _order_term(stripped)
    if kind is SearchKind.ticket:
        return _ticket_term(stripped)
    return fold(stripped)


def query_plan(query: str) -> list[SearchQuery]:
    """The Queries that answer the free search ``query``: for each plausible kind, an exact
    query (``<term>#``) then a prefix query (``<term>``), the caller merging results by entity
    with exact matches first. A full ticket reference needs no prefix query.

    Raises :class:`QueryTooShort` when no kind leaves at least three characters to search on.
    """
    plan: list[SearchQuery] = []
    for kind in classify(query):
        term = _query_term(kind, query)[:MAX_TERM_LENGTH]
        if not _searchable(term):
            continue
        pk = partition_key(kind, term)
        plan.append(SearchQuery(kind, pk, f"{term}{SEPARATOR}"))
        if not (kind is SearchKind.ticket and len(term) == _TICKET_LENGTH):
            plan.append(SearchQuery(kind, pk, term))
    if not plan:
        raise QueryTooShort(query)
    return plan


class SearchEntry(NamedTuple):
    """One index item: what a search finds (a customer or a ticket) under one term."""

    pk: str
    sk: str
    kind: SearchKind
    entity: str  # "customer" | "ticket"
    entity_id: str
    label: str


# Terms written per value. Each is a write on the first contact, so only what agents type: the
# full name and each later word of it (the first word is a prefix of the full name), the full
# address, and the number as E.164 digits and in its national form.
_TERMS_KEPT = {SearchKind.name: 4, SearchKind.email: 1, SearchKind.phone: 2, SearchKind.ticket: 1}


def entries_for(kind: SearchKind, value: str, entity: str, entity_id: str, label: str) -> list[SearchEntry]:
    terms = search_terms(kind, value)
    if kind is SearchKind.name and terms:
        first_word = terms[0].split()[0]
        words = [t for t in terms[1:] if " " not in t and t != first_word]
        terms = [terms[0], *words]
    kept = terms[: _TERMS_KEPT.get(kind, 1)]
    return [
        SearchEntry(partition_key(kind, term), f"{term}#{entity_id}", kind, entity, entity_id, label)
        for term in kept
    ]
