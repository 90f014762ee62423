"""Search keys: folding, terms per kind, index items and the plan of a free query."""

import pytest

from shared.domain.errors import InvalidInput
from shared.domain.search import (
    MAX_NAME_TERMS,
    MAX_TERM_LENGTH,
    QueryTooShort,
    SearchKind,
    SearchQuery,
    classify,
    fold,
    index_keys,
    query_plan,
    search_terms,
    split_sort_key,
)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  Élodie   MÜLLER ", "elodie muller"),
        ("François Lefèvre", "francois lefevre"),
        ("Cœur de Lœwe", "coeur de loewe"),
        ("ÆSIR", "aesir"),
        ("Straße", "strasse"),
        ("Łukasz Østergård", "lukasz ostergard"),
        ("ﬁnance", "finance"),  # ligature
        ("\uff11\uff12\uff13", "123"),  # full-width digits
        ("l\u2019adresse", "l'adresse"),  # French typographic apostrophe
        ("Jean\u2010Pierre", "jean-pierre"),  # Unicode hyphen
        ("İstanbul", "istanbul"),  # casefold adds a combining dot, NFKD then drops it
        ("a\tb\nc\u00a0d", "a b c d"),  # tabs, newlines, no-break spaces
        ("", ""),
    ],
)
def test_fold_ignores_accents_case_ligatures_and_spacing(raw, folded):
    assert fold(raw) == folded


def test_name_terms_cover_each_word_the_full_name_and_the_surname_first():
    terms = search_terms(SearchKind.name, "Jean-Pierre  DUPONT")
    assert terms[0] == "jean-pierre dupont"
    assert {"jean pierre dupont", "dupont jean pierre", "jean-pierre", "jean", "pierre", "dupont"} <= set(
        terms
    )
    assert len(terms) == len(set(terms))


def test_name_terms_fold_accents_and_drop_words_no_query_could_reach():
    assert search_terms(SearchKind.name, "Élodie Müller") == [
        "elodie muller",
        "muller elodie",
        "elodie",
        "muller",
    ]
    # "Li" alone is too short for any accepted query; the full name still carries it.
    assert search_terms(SearchKind.name, "Li Wei") == ["li wei", "wei li", "wei"]
    assert search_terms(SearchKind.name, "Jo") == []
    assert search_terms(SearchKind.name, "   ") == []


def test_name_with_an_apostrophe_is_found_by_the_part_after_it():
    terms = search_terms(SearchKind.name, "Anne D\u2019Artagnan")
    assert "anne d'artagnan" in terms
    assert "artagnan" in terms
    assert "d'artagnan" in terms


def test_name_terms_are_bounded_whatever_the_name():
    terms = search_terms(SearchKind.name, " ".join(f"word{i}" for i in range(40)))
    assert len(terms) == MAX_NAME_TERMS
    assert all(len(t) <= MAX_TERM_LENGTH for t in terms)


def test_email_terms_are_the_address_its_local_part_and_the_local_part_without_tag():
    assert search_terms(SearchKind.email, " Jean.Dupont+Shop@Example.FR ") == [
        "jean.dupont+shop@example.fr",
        "jean.dupont+shop",
        "jean.dupont",
    ]
    assert search_terms(SearchKind.email, "marie@example.com") == ["marie@example.com", "marie"]


def test_email_domains_are_stored_as_identities_store_them():
    assert search_terms(SearchKind.email, "zoe@élan.fr")[0] == "zoe@xn--lan-9la.fr"
    # Not an address (no dot in the domain): still indexed as typed, lowercased.
    assert search_terms(SearchKind.email, "Root@Localhost") == ["root@localhost", "root"]


@pytest.mark.parametrize(
    "raw", ["+33 6 12 34 56 78", "06 12 34 56 78", "0612345678", "33612345678", "whatsapp:+33612345678"]
)
def test_phone_terms_are_the_same_whichever_way_the_number_was_written(raw):
    assert search_terms(SearchKind.phone, raw) == ["33612345678", "0612345678", "612345678"]


def test_phone_terms_include_the_last_nine_digits_when_the_national_number_is_longer():
    terms = search_terms(SearchKind.phone, "+44 20 7946 0958")  # London, national number of 10 digits
    assert terms[0] == "442079460958"
    assert "02079460958" in terms  # as dialled in the UK
    assert "2079460958" in terms  # national significant number
    assert "079460958" in terms  # last nine digits


def test_an_unparseable_phone_is_indexed_by_its_digits():
    assert search_terms(SearchKind.phone, "ext. 12345") == ["12345"]


@pytest.mark.parametrize("raw", ["#1001", "1001", " #1001 "])
def test_order_numbers_with_or_without_hash_give_one_term(raw):
    assert search_terms(SearchKind.order, raw) == ["1001"]


def test_order_numbers_are_case_folded_and_separator_free():
    assert search_terms(SearchKind.order, "CMD-2026-0042") == ["cmd20260042"]
    assert search_terms(SearchKind.order, "cmd 2026/0042") == ["cmd20260042"]
    assert search_terms(SearchKind.order, "#12") == []  # too short to be reached


@pytest.mark.parametrize("raw", ["K7M3Q9XA", "k7m3q9xa", "[#K7M3Q9XA]", "#K7M3Q9XA", " k7m3q9xa "])
def test_ticket_references_are_uppercased_without_their_wrapper(raw):
    assert search_terms(SearchKind.ticket, raw) == ["K7M3Q9XA"]


def test_ticket_references_read_aloud_map_o_i_l_to_digits():
    assert search_terms(SearchKind.ticket, "k7m3q9xo") == ["K7M3Q9X0"]
    assert search_terms(SearchKind.ticket, "AB1LIO23") == ["AB11102" + "3"]


def test_index_keys_partition_by_the_first_three_characters_of_each_term():
    keys = index_keys(SearchKind.name, "Élodie Müller", "C01")
    assert keys == [
        ("SEARCH#name#elo", "elodie muller#C01"),
        ("SEARCH#name#mul", "muller elodie#C01"),
        ("SEARCH#name#elo", "elodie#C01"),
        ("SEARCH#name#mul", "muller#C01"),
    ]
    assert index_keys(SearchKind.ticket, "[#k7m3q9xa]", "K7M3Q9XA") == [
        ("SEARCH#ticket#K7M", "K7M3Q9XA#K7M3Q9XA")
    ]
    assert index_keys(SearchKind.name, "Jo", "C01") == []


@pytest.mark.parametrize("entity_id", ["", "C#1"])
def test_index_keys_refuse_an_entity_id_that_would_break_the_sort_key(entity_id):
    with pytest.raises(ValueError, match="entity id"):
        index_keys(SearchKind.name, "Jean Dupont", entity_id)


def test_the_sort_key_splits_back_into_term_and_entity():
    assert split_sort_key("jean dupont#C01") == ("jean dupont", "C01")
    assert split_sort_key("a#b#C01") == ("a#b", "C01")


# --- free queries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ("jean@example.fr", [SearchKind.email]),
        ("jean@", [SearchKind.email]),
        ("+33 6 12", [SearchKind.phone]),
        ("06 12 34 56 78", [SearchKind.phone]),
        ("0612345678", [SearchKind.phone]),
        ("0033612345678", [SearchKind.phone]),
        ("1001", [SearchKind.order, SearchKind.phone]),
        ("#1001", [SearchKind.order]),
        ("CMD-2026-0042", [SearchKind.order]),
        ("K7M3Q9XA", [SearchKind.order, SearchKind.ticket]),
        ("[#K7M3Q9XA]", [SearchKind.order, SearchKind.ticket]),
        ("k7m3", [SearchKind.order, SearchKind.ticket]),
        ("Dupont", [SearchKind.name, SearchKind.email]),
        ("jean.dupont", [SearchKind.name, SearchKind.email]),
        ("Jean Dupont", [SearchKind.name]),
        ("Élodie", [SearchKind.name, SearchKind.email]),
        ("MARTINEZ", [SearchKind.ticket, SearchKind.name, SearchKind.email]),  # 8 Crockford letters
        ("BERNARD", [SearchKind.name, SearchKind.email]),  # 7 letters: not the start of a reference
    ],
)
def test_a_free_query_is_classified_by_its_shape(query, kinds):
    assert classify(query) == kinds


def test_a_name_query_asks_exact_then_prefix_on_the_folded_term():
    plan = query_plan("  Élodie MÜL ")
    assert plan == [
        SearchQuery(SearchKind.name, "SEARCH#name#elo", "elodie mul#"),
        SearchQuery(SearchKind.name, "SEARCH#name#elo", "elodie mul"),
    ]
    assert [q.exact for q in plan] == [True, False]


def test_a_single_word_is_also_looked_for_as_an_email_local_part():
    plan = query_plan("Dupont")
    assert [(q.kind, q.pk, q.sk_prefix) for q in plan] == [
        (SearchKind.name, "SEARCH#name#dup", "dupont#"),
        (SearchKind.name, "SEARCH#name#dup", "dupont"),
        (SearchKind.email, "SEARCH#email#dup", "dupont#"),
        (SearchKind.email, "SEARCH#email#dup", "dupont"),
    ]


def test_an_email_query_is_normalised_like_the_identity():
    plan = query_plan("Zoe@Élan.fr")
    assert plan[0] == SearchQuery(SearchKind.email, "SEARCH#email#zoe", "zoe@xn--lan-9la.fr#")
    indexed = {sk for _, sk in index_keys(SearchKind.email, "zoe@élan.fr", "C9")}
    assert any(sk.startswith(plan[0].sk_prefix) for sk in indexed)


@pytest.mark.parametrize(
    ("query", "prefix"),
    [("+33 6 12 34", "3361234"), ("0033 6 12 34", "3361234"), ("06.12.34", "061234"), ("(0)6 12", "0612")],
)
def test_phone_queries_become_digits_that_prefix_an_indexed_form(query, prefix):
    plan = query_plan(query)
    assert plan[-1] == SearchQuery(SearchKind.phone, f"SEARCH#phone#{prefix[:3]}", prefix)
    indexed = [sk for _, sk in index_keys(SearchKind.phone, "+33612345678", "C1")]
    assert any(sk.startswith(prefix) for sk in indexed)


def test_order_queries_find_the_order_however_it_is_written():
    indexed = index_keys(SearchKind.order, "CMD-2026-0042", "O1")
    for query in ("CMD-2026-0042", "cmd-2026", "cmd2026", "#CMD-2026-0042"):
        plan = [q for q in query_plan(query) if q.kind is SearchKind.order]
        assert plan, query
        assert any(pk == q.pk and sk.startswith(q.sk_prefix) for q in plan for pk, sk in indexed), query


def test_a_full_ticket_reference_needs_only_the_exact_query():
    plan = [q for q in query_plan("[#k7m3q9xa]") if q.kind is SearchKind.ticket]
    assert plan == [SearchQuery(SearchKind.ticket, "SEARCH#ticket#K7M", "K7M3Q9XA#")]
    partial = [q for q in query_plan("K7M3") if q.kind is SearchKind.ticket]
    assert [q.sk_prefix for q in partial] == ["K7M3#", "K7M3"]


def test_exact_and_prefix_queries_find_what_index_keys_wrote():
    people = {"C1": "Jean Dupont", "C2": "Jean Dupontel", "C3": "Jeanne Durand", "C4": "Élodie Müller"}
    items = [key for cid, name in people.items() for key in index_keys(SearchKind.name, name, cid)]

    def run(query):
        found = {}
        for q in query_plan(query):
            for pk, sk in items:
                if pk == q.pk and sk.startswith(q.sk_prefix):
                    found.setdefault(split_sort_key(sk)[1], q.exact)
        return found

    assert run("jean dupont") == {"C1": True, "C2": False}
    assert run("DUPONT") == {"C1": True, "C2": False}
    assert set(run("jean")) == {"C1", "C2", "C3"}
    assert run("muller") == {"C4": True}
    assert run("MÜLLER élodie") == {"C4": True}
    assert run("durand jeanne") == {"C3": True}


@pytest.mark.parametrize("query", ["", "  ", "ab", "é", "#12", "+33", "[#]", "a b"])
def test_queries_shorter_than_three_characters_are_refused_clearly(query):
    with pytest.raises(QueryTooShort) as caught:
        query_plan(query)
    assert isinstance(caught.value, InvalidInput)  # mapped to a 400 with the field
    assert caught.value.errors[0]["field"] == "q"
    assert "at least 3" in caught.value.errors[0]["message"]


def test_a_very_long_query_is_cut_like_the_terms_it_is_compared_with():
    long_name = "a" * 300
    plan = query_plan(long_name)
    assert all(len(q.sk_prefix.rstrip("#")) == MAX_TERM_LENGTH for q in plan)
    indexed = index_keys(SearchKind.name, long_name, "C1")
    assert indexed[0][1] == "a" * MAX_TERM_LENGTH + "#C1"
