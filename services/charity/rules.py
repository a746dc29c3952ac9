"""The charity service's rules without storage: kinds, statuses, who may approve,
the management committee, venture scoring and ranking, receipt numbers."""
import re

FUND_KINDS = ("community_fund", "special_fund")
FUND_STATUSES = ("open", "frozen", "closed")
DONATION_KINDS = ("money", "in_kind")
DONOR_KINDS = ("person", "organisation", "anonymous")
CHANNELS = ("bank_transfer", "cash", "online")
DISBURSEMENT_STATUSES = ("requested", "approved", "paid", "rejected", "cancelled")
APPLICANT_KINDS = ("community", "community_organisation", "volunteer_team")
ROUND_STATUSES = ("open", "reviewing", "decided")
APPLICATION_STATUSES = ("submitted", "approved", "not_approved")
PROJECT_STATUSES = ("active", "closed")
CONTRACT_STATUSES = ("signed", "completed")
MILESTONE_STATUSES = ("pending", "accepted")

# Roles that may approve disbursements, accept milestones, decide rounds (within region).
APPROVER_ROLES = ("province_admin", "city_officer", "county_officer")

COMMITTEE_MIN = 5
ANONYMOUS_NAME = "匿名"
PUBLIC_ANONYMOUS = "爱心人士"

# 统一社会信用代码: 18 characters of digits and capitals except I, O, Z, S, V.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
RECEIPT_NUMBER = re.compile(r"^JZSJ-(\d{4})-([0-9A-Z]{18})-(\d{6})$")


def committee_problem(members):
    """Why a management committee is not acceptable, or None: at least five members,
    an odd number, exactly one of them its supervisor."""
    if len(members) < COMMITTEE_MIN:
        return f"needs at least {COMMITTEE_MIN} members"
    if len(members) % 2 == 0:
        return "needs an odd number of members"
    supervisors = sum(1 for m in members if m.get("role") == "supervisor")
    if supervisors != 1:
        return f"needs exactly one supervisor (has {supervisors})"
    return None


def receipt_number(year, credit_code, seq):
    """JZSJ-2026-<credit code>-000001: numbered per host organisation and year."""
    return f"JZSJ-{year}-{credit_code}-{seq:06d}"


def yuan(fen):
    """12345 -> "123.45": for pages and exports, never for arithmetic."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def weights_problem(criteria):
    """Why round criteria are not acceptable, or None: unique keys, weights summing to 100."""
    keys = [c["key"] for c in criteria]
    if len(set(keys)) != len(keys):
        return "criterion keys must be unique"
    total = sum(c["weight"] for c in criteria)
    if total != 100:
        return f"weights must sum to 100 (they sum to {total})"
    return None


def weighted_score(criteria, scores):
    """One reviewer's score of an application, in hundredths of a point (integers
    keep ranking exact): sum of score x weight, each score 0-100, weights summing
    to 100, so 0..10000."""
    return sum(int(scores[c["key"]]) * int(c["weight"]) for c in criteria)


def rank(applications):
    """Applications ordered by average score (high first), ties by submission order.

    applications: [{"id", "score_total", "reviews", "submitted_seq", ...}]; an
    application with no review ranks last."""
    def key(app):
        reviews = app.get("reviews") or 0
        average = app["score_total"] * 1.0 / reviews if reviews else -1
        return (-average, app["submitted_seq"])
    return sorted(applications, key=key)


def average_score(app):
    """Average weighted score in points (0-100), two decimals, or None."""
    if not app.get("reviews"):
        return None
    return round(app["score_total"] / app["reviews"] / 100, 2)


def select_within_budget(ranked, budget_fen, min_score=0):
    """Walk the ranking and approve each application whose budget still fits.

    Returns (approved ids, not approved ids). An application fits when its
    budget does not exceed what is left of the round's budget; one that does
    not fit is passed over, and the next (smaller) may still fit. Applications
    below `min_score` points (average) or with no review are never approved."""
    left = budget_fen
    approved, passed = [], []
    for app in ranked:
        score = average_score(app)
        if score is not None and score >= min_score and app["budget_fen"] <= left:
            approved.append(app["id"])
            left -= app["budget_fen"]
        else:
            passed.append(app["id"])
    return approved, passed



# ---- unified social credit code (统一社会信用代码, GB 32100-2015) ----

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_character(first17):
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_problem(code):
    """Why `code` is not a unified social credit code, or None."""
    if not isinstance(code, str) or not CREDIT_CODE.match(code):
        return "must be an 18-character unified social credit code"
    if credit_check_character(code[:17]) != code[17]:
        return "check character does not match (GB 32100-2015)"
    return None


# ---- amounts in words (大写金额), as receipts print them ----

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")


def _group_words(group):
    out, zero = "", False
    for place in (3, 2, 1, 0):
        digit = group // 10 ** place % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[digit] + PLACES[place]
    return out


def _integer_words(number):
    if number == 0:
        return "零"
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    out, zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(out)
            continue
        if out and (zero or group < 1000):
            out += "零"
        out += _group_words(group) + GROUPS[index]
        zero = False
    return out


def amount_in_words(fen):
    """12345 -> 人民币壹佰贰拾叁元肆角伍分; 10000 -> 人民币壹佰元整."""
    yuan_part, rest = divmod(int(fen), 100)
    jiao, fen_part = divmod(rest, 10)
    out = "人民币"
    if yuan_part or not rest:
        out += _integer_words(yuan_part) + "元"
    if not rest:
        return out + "整"
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan_part:
        out += "零"
    if fen_part:
        out += DIGITS[fen_part] + "分"
    else:
        out += "整"
    return out


def donor_key(kind, name, consent):
    """The donors rollup key: a named donor's own (by kind and name), or everyone else's."""
    import hashlib

    if kind == "anonymous" or not consent or not name:
        return "anonymous"
    return "n" + hashlib.sha256(f"{kind}|{name.strip()}".encode("utf-8")).hexdigest()[:16]


def public_donor_name(kind, name, consent):
    """What the public sees: the donor's name only when they consented."""
    return name.strip() if donor_key(kind, name, consent) != "anonymous" else PUBLIC_ANONYMOUS
