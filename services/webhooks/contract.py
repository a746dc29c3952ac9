"""The webhooks service's published events: its contract with every consumer.

Exchange `webhooks.events`, routing key = the CloudEvents type
(`wushe.webhooks.subscription.paused.v1`, ...). Events carry the subscription's
id, region, status, event types and the receiver's host name; never its
secret, nor its full URL (a query string may hold the receiver's own token).
"""
from marshmallow import Schema, fields, validate

from services.common.contract import Contract, EventSpec

SUBSCRIPTION_ID = r"^wh-[0-9a-f]{16}$"
PAUSE_REASONS = ("operator", "failing")


class SubscriptionFacts(Schema):
    subscription_id = fields.String(required=True, validate=validate.Regexp(SUBSCRIPTION_ID))
    region = fields.String(required=True, validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$"),
                           metadata={"description": "The region of the admin who made it."})
    status = fields.String(required=True, validate=validate.OneOf(("active", "paused", "deleted")))
    types = fields.List(fields.String(), required=True,
                        metadata={"description": "Event types and patterns subscribed to."})
    host = fields.String(required=True, metadata={"description": "The receiver's host name."})


class SubscriptionPaused(SubscriptionFacts):
    reason = fields.String(required=True, validate=validate.OneOf(PAUSE_REASONS), metadata={
        "description": "operator: paused over the API; failing: a delivery kept failing for "
                       "WEBHOOKS_GIVE_UP_AFTER_SECONDS (24 h) after its first attempt."})
    failing_since = fields.DateTime(metadata={"description": "failing: the first attempt of "
                                                             "the delivery that gave up."})
    delivery_id = fields.String(metadata={"description": "failing: the delivery that gave up."})
    last_error = fields.String(metadata={"description": "failing: its last error (a status "
                                                        "code or a connection error)."})


CONTRACT = Contract("webhooks", [
    EventSpec("subscription.created", SubscriptionFacts, subject="subscription id",
              summary="A webhook subscription was made (its secret is never in an event)."),
    EventSpec("subscription.paused", SubscriptionPaused, subject="subscription id",
              summary="A subscription was paused: by an operator, or because a delivery kept "
                      "failing for 24 h. Its deliveries accumulate until it is resumed."),
    EventSpec("subscription.resumed", SubscriptionFacts, subject="subscription id",
              summary="A paused subscription was resumed: what accumulated is delivered."),
    EventSpec("subscription.deleted", SubscriptionFacts, subject="subscription id",
              summary="A subscription was deleted with its delivery log."),
])
