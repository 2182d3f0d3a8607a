"""The query language as an analyst writes it: parsing, errors that point, and matching."""

from __future__ import annotations

import pytest

from ingest.errors import QuerySyntaxError
from ingest.query import And, Doc, Field, Near, Not, Or, Text, depth, matches, parse, terms
from ingest.text import tokenize
from tests.support.mentions import make_mention


def hits(query: str, text: str, **fields: object) -> bool:
    return matches(parse(query), Doc.of(make_mention(text, **fields)))  # type: ignore[arg-type]


def test_words_fold_case_accents_and_punctuation() -> None:
    assert tokenize("L'Oréal, SOCIÉTÉ Générale #Acme @acme_corp naïve") == [
        "l",
        "oreal",
        "societe",
        "generale",
        "acme",
        "acme",
        "corp",
        "naive",
    ]


def test_the_design_examples_parse_into_the_expected_trees() -> None:
    tree = parse('("Acme" OR "ACME Corp" OR acme*) AND NOT ("acme pest" OR site:acme-pest.fr)')
    assert tree == And(
        (
            Or((Text(("acme",)), Text(("acme", "corp")), Text(("acme",), prefix=True))),
            Not(Or((Text(("acme", "pest")), Field("site", "acme-pest.fr")))),
        )
    )
    tree = parse('"service client" NEAR/5 (acme OR @acme) lang:fr')
    assert tree == And(
        (
            Near((Text(("service", "client")),), (Text(("acme",)), Text(("acme",))), 5),
            Field("lang", "fr"),
        )
    )


def test_adjacent_terms_are_anded_and_lowercase_or_is_a_word() -> None:
    assert parse("acme panne") == And((Text(("acme",)), Text(("panne",))))
    assert parse("or and") == And((Text(("or",)), Text(("and",))))
    assert parse("a OR b c") == Or((Text(("a",)), And((Text(("b",)), Text(("c",))))))


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("acme AND", 8, "a term is missing"),
        ("(acme OR globex", 15, "never closed"),
        ("acme)", 4, "unexpected ')'"),
        ('"service client', 0, "unterminated phrase"),
        ("lnag:fr acme", 0, "unknown field 'lnag'"),
        ("acme NEAR panne", 5, "NEAR needs a distance"),
        ("acme NEAR/3 (panne AND outage)", 12, "NEAR joins words"),
        ("ac*me", 2, "'*' is allowed only at the end"),
        ("lang:french", 0, "language code"),
        ("   ", 3, "empty query"),
        ("acme OR ()", 9, "empty parentheses"),
    ],
)
def test_a_malformed_query_gets_an_error_at_its_position(
    query: str, position: int, message: str
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.position == position
    assert message in str(caught.value)
    caret_line = str(caught.value).splitlines()[-1]
    assert caret_line.index("^") - 2 == position


def test_matching_is_case_and_accent_insensitive_both_ways() -> None:
    assert hits("societe", "La Société Générale recrute")
    assert hits("Société", "la societe generale recrute")
    assert hits('"societe generale"', "SOCIÉTÉ GÉNÉRALE")
    assert not hits('"generale societe"', "Société Générale")


def test_near_counts_words_between_in_either_order_within_one_field() -> None:
    text = "le service client de la banque acme est injoignable"
    assert hits('"service client" NEAR/3 acme', text)  # de, la, banque: three words between
    assert not hits('"service client" NEAR/2 acme', text)
    assert hits('acme NEAR/3 "service client"', text)
    assert not hits("acme NEAR/1 panne", "acme", title="panne")  # title and text are apart


def test_fields_filter_on_metadata() -> None:
    assert hits("acme site:acme-pest.fr", "acme", url="https://blog.acme-pest.fr/x")
    assert not hits("acme site:acme-pest.fr", "acme", url="https://acme-pest.fr.evil.com/x")
    assert hits('author:"helene dupont"', "x", author="Hélène Dupont")
    assert hits("author:@jdoe", "x", author=None, handle="jdoe")
    assert hits("source:forum", "x", kind="forum")
    assert hits("source:my-feed", "x", source="My Feed")
    assert hits("lang:fr", "x", lang="fr")
    assert not hits("lang:en", "x", lang="fr")


def test_not_excludes_and_prefix_extends() -> None:
    assert hits("acme* AND NOT pest", "les produits acmeco")
    assert not hits("acme* AND NOT pest", "acme pest control")
    assert hits('"acme co"*', "acme corporation")


def test_the_tree_comes_in_a_normal_form() -> None:
    a, b, c = Text(("a",)), Text(("b",)), Text(("c",))
    assert parse("a AND (b AND c)") == parse("(a b) c") == And((a, b, c))
    assert parse("a OR ((b OR (c)))") == Or((a, b, c))
    assert parse("NOT NOT a") == parse("NOT (NOT (a))") == parse("((((a))))") == a
    assert parse("NOT NOT NOT a") == Not(a)
    assert parse("(a OR (b OR c)) NEAR/2 a") == Near((a, b, c), (a,), 2)


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("a " * 1_000 + "b", 2_000, "1,001 terms, at most 1,000"),
        ("(a OR b OR c) NEAR/1 (d OR e) " + "x " * 995, 30 + 2 * 994, "1,001 terms"),
        ("a" * 20_001, 20_000, "20,001 characters long, at most 20,000"),
        ("a AND (b OR " * 10 + "(c AND d)" + ")" * 10, 0, "more than 20 levels deep"),
        ("NOT (a AND " * 11 + "b" + ")" * 11, 5, "more than 20 levels deep"),
        ("x NEAR/" + "9" * 5_000 + " y", 7, "NEAR distance must be at most 1000"),
    ],
)
def test_a_query_past_a_limit_is_refused_where_it_passes_it(
    query: str, position: int, message: str
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.position == position
    assert message in str(caught.value)


def test_a_query_at_the_limits_parses() -> None:
    assert depth(parse("a AND (b OR " * 9 + "(c AND d)" + ")" * 9)) == 19
    assert depth(parse("NOT (a AND " * 10 + "b" + ")" * 10)) == 20
    assert depth(parse("NOT (" * 21 + "NOT (a AND b)" + ")" * 21)) == 1  # 22 NOTs cancel
    assert terms(parse(" ".join(["a"] * 1_000))) == 1_000
    assert terms(parse("(a OR b OR c) NEAR/1 (d OR e) " + "x " * 994)) == 1_000
