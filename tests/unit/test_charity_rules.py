"""The charity service's rules without storage: committees, credit codes, amounts in
words, venture scoring and approval within a budget, and what makes an entry."""
import pytest

from services.charity import ledger, rules
from services.charity.errors import InsufficientFunds, is_lack_of_funds
from services.common.errors import Conflict, for_the_wire


def members(*roles):
    return [{"name": f"委员{i}", "role": r} for i, r in enumerate(roles)]


def test_a_committee_has_five_or_more_an_odd_number_and_one_supervisor():
    assert rules.committee_problem(members("chair", "member", "member", "member", "supervisor")) is None
    assert rules.committee_problem(members("chair", "member", "member", "supervisor")) == "needs at least 5 members"
    assert rules.committee_problem(members("chair", *["member"] * 4, "supervisor")) == "needs an odd number of members"
    assert "exactly one supervisor (has 0)" in rules.committee_problem(members("chair", *["member"] * 4))
    assert "(has 2)" in rules.committee_problem(members("chair", "member", "member", "supervisor", "supervisor"))


def test_credit_codes_are_checked_by_their_check_character():
    first17 = "53340100MJ0000000"
    good = first17 + rules.credit_check_character(first17)
    assert rules.credit_code_problem(good) is None
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert "check character" in rules.credit_code_problem(wrong)
    assert "18-character" in rules.credit_code_problem("12345")
    assert "18-character" in rules.credit_code_problem("53340100MJ000000IO")   # I and O are never used
    # A published code: 国家税务总局 (91100000...) style codes verify with the same weights.
    assert rules.credit_code_problem("91350100M000100Y43") is None


@pytest.mark.parametrize("fen, words", [
    (0, "人民币零元整"), (5, "人民币伍分"), (50, "人民币伍角整"), (100, "人民币壹元整"),
    (12345, "人民币壹佰贰拾叁元肆角伍分"), (600_000, "人民币陆仟元整"), (100_000_001, "人民币壹佰万元零壹分"),
    (1_010_010, "人民币壹万零壹佰元壹角整"), (20_000_050_000, "人民币贰亿零伍佰元整"), (1_000_005, "人民币壹万元零伍分"),
])
def test_amounts_in_words_as_a_receipt_prints_them(fen, words):
    assert rules.amount_in_words(fen) == words


def test_yuan_shows_fen_exactly():
    assert (rules.yuan(0), rules.yuan(5), rules.yuan(600_000), rules.yuan(-12345)) == \
        ("0.00", "0.05", "6000.00", "-123.45")


CRITERIA = [{"key": "need", "weight": 60}, {"key": "design", "weight": 40}]


def test_weights_sum_to_100_and_keys_are_unique():
    assert rules.weights_problem(CRITERIA) is None
    assert "sum to 90" in rules.weights_problem([{"key": "a", "weight": 50}, {"key": "b", "weight": 40}])
    assert "unique" in rules.weights_problem([{"key": "a", "weight": 50}, {"key": "a", "weight": 50}])


def app(id, score_total, reviews, budget, seq):
    return {"id": id, "score_total": score_total, "reviews": reviews, "budget_fen": budget, "submitted_seq": seq}


def test_ranking_by_average_then_submission_and_approval_within_the_budget():
    assert rules.weighted_score(CRITERIA, {"need": 90, "design": 70}) == 8200
    ranked = rules.rank([app("late", 16400, 2, 700_000, 3), app("early", 8200, 1, 800_000, 1),
                         app("best", 9500, 1, 600_000, 2), app("unreviewed", 0, 0, 100_000, 4)])
    assert [a["id"] for a in ranked] == ["best", "early", "late", "unreviewed"]
    approved, passed = rules.select_within_budget(ranked, 1_400_000, min_score=60)
    # best 600k, early 800k fits exactly; late no longer fits; unreviewed is never approved.
    assert approved == ["best", "early"] and passed == ["late", "unreviewed"]
    approved, _ = rules.select_within_budget(ranked, 1_400_000, min_score=90)
    assert approved == ["best"]


def test_public_names_only_with_consent():
    assert rules.public_donor_name("person", "张三", True) == "张三"
    assert rules.public_donor_name("person", "张三", False) == "爱心人士"
    assert rules.public_donor_name("anonymous", None, True) == "爱心人士"
    assert rules.donor_key("person", "张三", True) == rules.donor_key("person", " 张三 ", True)
    assert rules.donor_key("person", "张三", True) != rules.donor_key("organisation", "张三", True)


def test_an_entry_is_two_or_more_nonzero_integer_postings_that_sum_to_zero():
    ok = [{"account": "cash", "amount_fen": 100}, {"account": "donation_income", "amount_fen": -100}]
    assert ledger.postings_problem(ok) is None
    assert "two or more" in ledger.postings_problem(ok[:1])
    assert "sum to zero" in ledger.postings_problem([ok[0], dict(ok[1], amount_fen=-99)])
    assert "integer" in ledger.postings_problem([dict(ok[0], amount_fen=100.0), ok[1]])
    assert "integer" in ledger.postings_problem([dict(ok[0], amount_fen=True), ok[1]])
    assert "unknown account" in ledger.postings_problem([dict(ok[0], account="bank"), ok[1]])


def test_every_account_type_is_in_the_chart_and_cash_is_an_asset():
    assert {kind for kind, _name in ledger.CHART.values()} == set(ledger.ACCOUNT_TYPES)
    assert ledger.normal_sign("cash") == 1 and ledger.normal_sign("donation_income") == -1
    assert ledger.normal_sign("payable") == -1 and ledger.normal_sign("aid_expense") == 1


def test_lack_of_money_is_a_409_that_names_the_available_amount_and_keeps_its_code_on_the_wire():
    refusal = InsufficientFunds("F1", 1_234, 5_000)
    assert isinstance(refusal, Conflict) and refusal.status == 409
    assert refusal.details == {"fund_id": "F1", "available_fen": 1_234, "asked_fen": 5_000}
    assert "12.34 yuan (1234 fen) available" in refusal.message
    wire = for_the_wire(refusal)
    assert (wire.status, wire.code, wire.details["available_fen"]) == (409, "insufficient_funds", 1_234)
    assert is_lack_of_funds(wire) and not is_lack_of_funds(Conflict("other"))
