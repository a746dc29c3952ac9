"""Helpers shared by the charity service's integration tests (no tests here).

Import it as `tests.integration.test_charity_support`. `FundScene` opens, on
the session platform, a township fund in a township no other test uses, hosted
by an organisation of its own (so its receipt numbers are its own), with the
officers a test acts as: two county officers (one requests, the other
approves), station staff and an auditor of that county.
"""
import itertools
import uuid

from services.charity import rules
from tests.fixtures import PROVINCE_ADMIN

ADMIN = PROVINCE_ADMIN
_CODES = itertools.count(1)


def credit_code(kind="53"):
    """A valid unified social credit code (check character right), new at every call."""
    first17 = f"{kind}340100MJ{uuid.uuid4().int % 10 ** 6:06d}{next(_CODES) % 10:01d}"[:17]
    return first17 + rules.credit_check_character(first17)


def committee():
    return [{"name": n, "role": r} for n, r in
            [("张主任", "chair"), ("李委员", "member"), ("王委员", "member"), ("赵委员", "member"),
             ("钱监事", "supervisor")]]


def fund_body(region=None, station_id=None, opening=0, name=None):
    return {"name": name or f"社区慈善基金-{uuid.uuid4().hex[:6]}", "kind": "community_fund",
            "purpose": "扶老助残、济困助学", "region": region, "station_id": station_id,
            "host": {"name": "合肥市慈善总会", "credit_code": credit_code()},
            "committee": committee(), "opening_balance_fen": opening}


def key():
    return uuid.uuid4().hex


def caller(role, region, sub=None):
    return {"sub": sub or f"{role}-{uuid.uuid4().hex[:6]}", "role": role, "region": region}


class FundScene:
    """A township fund and the officers who run it, on the session platform."""

    def __init__(self, cluster, unit, opening=0):
        self.cluster = cluster
        self.charity = cluster.charity
        self.township = unit["code"]
        self.county = unit["areaCode"]
        self.requester = caller("county_officer", self.county, "officer-requests")
        self.approver = caller("county_officer", self.county, "officer-approves")
        self.staff = caller("station_staff", self.township, "staff-1")
        self.auditor = caller("auditor", self.county, "auditor-1")
        self.fund = self.charity.open_fund(fund_body(region=self.township, opening=opening),
                                           caller=self.approver)
        self.fund_id = self.fund["id"]

    def donate(self, amount_fen, who=None, donor=None, received_on="2026-03-05", idempotency_key=None,
               **extra):
        body = {"fund_id": self.fund_id, "kind": "money", "received_on": received_on,
                "amount_fen": amount_fen, "channel": "bank_transfer",
                "donor": donor or {"kind": "person", "name": "张三丰", "phone": "13912345678",
                                   "consent_public": False}, **extra}
        return self.charity.record_donation(body, caller=who or self.staff,
                                            idempotency_key=idempotency_key or key())

    def donate_in_kind(self, items, donor=None, received_on="2026-03-06"):
        body = {"fund_id": self.fund_id, "kind": "in_kind", "received_on": received_on,
                "items": items, "valuation": {"basis": "market_price", "valued_by": "李社工"},
                "donor": donor or {"kind": "organisation", "name": "合肥爱心超市", "consent_public": True}}
        return self.charity.record_donation(body, caller=self.staff, idempotency_key=key())

    def request(self, amount_fen, who=None, **extra):
        body = {"fund_id": self.fund_id, "purpose": "慰问困难老人", "category": "direct_aid",
                "payee": {"kind": "person", "name": "王大妈", "account": "6222000011112222"},
                "amount_fen": amount_fen, "documents": ["申请表-001"], **extra}
        return self.charity.request_disbursement(body, caller=who or self.requester,
                                                 idempotency_key=key())

    def approve(self, disbursement_id, who=None, idempotency_key=None):
        return self.charity.approve_disbursement(disbursement_id, {}, caller=who or self.approver,
                                                 idempotency_key=idempotency_key or key())

    def pay(self, disbursement_id, who=None, idempotency_key=None):
        return self.charity.pay_disbursement(disbursement_id, {"payment_reference": "银行回单"},
                                             caller=who or self.approver,
                                             idempotency_key=idempotency_key or key())

    def spend(self, amount_fen, **extra):
        """Request, approve and pay: the paid disbursement."""
        requested = self.request(amount_fen, **extra)
        self.approve(requested["id"])
        return self.pay(requested["id"])

    def balances(self):
        return self.charity.get_fund(self.fund_id, caller=self.approver)["balances"]

    def entries(self):
        out, page = [], 1
        while True:
            found = self.charity.list_entries(self.fund_id, {"page": page, "per_page": 500},
                                              caller=self.approver)
            out.extend(found["items"])
            if len(out) >= found["total"]:
                return out
            page += 1
