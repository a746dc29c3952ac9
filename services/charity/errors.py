"""The charity service's own refusal: not enough money (a 409 naming what is available).

It reaches the gateway as a DomainError with status 409 and code
`insufficient_funds` (services.common.errors.for_the_wire); an
Idempotency-Key refused this way stays refused (`is_lack_of_funds`)."""
from services.common.errors import Conflict, DomainError
from services.charity.rules import yuan

INSUFFICIENT_FUNDS = "insufficient_funds"


class InsufficientFunds(Conflict):
    code = INSUFFICIENT_FUNDS

    def __init__(self, fund_id, available_fen, asked_fen, *args):
        if args:   # rebuilt from its args (nameko, copies): (message, fields, details, status, code)
            super().__init__(fund_id, available_fen, asked_fen, *args)
            return
        super().__init__(
            f"fund {fund_id} has {yuan(available_fen)} yuan ({available_fen} fen) available, "
            f"less than the {yuan(asked_fen)} yuan ({asked_fen} fen) asked",
            fields={"amount_fen": [f"more than the {available_fen} fen available"]},
            details={"fund_id": fund_id, "available_fen": available_fen, "asked_fen": asked_fen})


def is_lack_of_funds(refusal):
    """keep_refusal for money commands: a key refused for lack of money stays refused."""
    return isinstance(refusal, DomainError) and refusal.code == INSUFFICIENT_FUNDS
