"""The webhooks service's API contract: marshmallow schemas of every request and answer."""
from marshmallow import Schema, fields, validate

from services.common.schemas import PageQuerySchema
from services.webhooks.contract import PAUSE_REASONS, SUBSCRIPTION_ID

WEBHOOK_ID = SUBSCRIPTION_ID
DELIVERY_ID = r"^[0-9a-f]{32}$"
STATUSES = ("active", "paused")
DELIVERY_STATUSES = ("pending", "delivered")


class WebhookCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "https:// URL of the receiver; its host must resolve to public addresses "
                       "only (WEBHOOKS_ALLOWED_NETWORKS allows others)."})
    types = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                        validate=validate.Length(min=1, max=100), metadata={
        "description": "Event types (`wushe.registry.station.opened.v1`) or patterns ending in "
                       "`.*` (`wushe.registry.*`)."})
    description = fields.String(allow_none=True, validate=validate.Length(max=200))


class WebhookSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    types = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True)
    region = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "active, or paused (deliveries accumulate until resumed)."})
    paused_reason = fields.String(allow_none=True, validate=validate.OneOf(PAUSE_REASONS))
    paused_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True, metadata={"description": "role:sub of the maker."})
    updated_at = fields.DateTime(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(required=True, metadata={
        "description": "The signing secret, shown this once: keep it (docs/webhooks.md)."})


class WebhookQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


class DeliverySchema(Schema):
    id = fields.String(required=True)
    subscription_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_source = fields.String(required=True)
    event_type = fields.String(required=True)
    subject = fields.String(allow_none=True)
    event_time = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer(required=True)
    redeliveries = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    first_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True, metadata={
        "description": "When it is tried next (pending), null once delivered."})
    delivered_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)


class DeliveryQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_id = fields.String(validate=validate.Length(min=1, max=200))
