"""Schema parts every service's API shares, so lists and phones read alike everywhere."""
from marshmallow import Schema, fields, validate

PHONE = validate.Regexp(r"^\+?[0-9][0-9-]{6,19}$", error="must be a phone number")


class PageQuerySchema(Schema):
    """`page` and `per_page` of every list; answers are {items, total, page, per_page}."""
    # Bounded: a page past ten million would overflow the database's skip.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
