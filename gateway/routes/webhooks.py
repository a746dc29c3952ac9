"""Webhook routes: subscriptions for systems that cannot speak AMQP, and their delivery logs.

Province admins make, pause, resume and delete subscriptions and ask for
redeliveries; auditors and province admins read them. The signing secret is in
the 201 answer only. What a receiver gets: docs/webhooks.md.
"""
from flask import Blueprint, url_for

from gateway.api import check_path, endpoint, page_of
from gateway.auth import AUDITOR, PROVINCE_ADMIN
from gateway.rpc import call
from services.webhooks.schemas import (
    DELIVERY_ID, WEBHOOK_ID, DeliveryQuerySchema, DeliverySchema, WebhookCreatedSchema,
    WebhookCreateSchema, WebhookQuerySchema, WebhookSchema,
)

bp = Blueprint("webhooks", __name__)
SERVICE = "webhooks"
WRITERS = (PROVINCE_ADMIN,)
READERS = (PROVINCE_ADMIN, AUDITOR)
TAGS = ("webhooks",)
WEBHOOK_PARAM = {"webhook_id": {"type": "string", "pattern": WEBHOOK_ID}}
DELIVERY_PARAMS = {**WEBHOOK_PARAM, "delivery_id": {"type": "string", "pattern": DELIVERY_ID}}


def _webhook_id(webhook_id):
    return check_path("webhook_id", webhook_id, WEBHOOK_ID.strip("^$"), "not a webhook id (wh-...)")


@bp.post("/webhooks")
@endpoint(roles=WRITERS, body=WebhookCreateSchema, response=WebhookCreatedSchema, status=201,
          tags=TAGS, summary="Subscribe a URL to events",
          description="Answers the signing secret once. The URL must be https and resolve to "
                      "public addresses only; 400 naming `url` otherwise.")
def create_webhook(body):
    webhook = call(SERVICE, "create_webhook", body)
    return webhook, {"Location": url_for(".get_webhook", webhook_id=webhook["id"])}


@bp.get("/webhooks")
@endpoint(roles=READERS, query=WebhookQuerySchema, response=page_of(WebhookSchema), tags=TAGS,
          summary="Webhook subscriptions in your region")
def list_webhooks(query):
    return call(SERVICE, "list_webhooks", query)


@bp.get("/webhooks/<webhook_id>")
@endpoint(roles=READERS, response=WebhookSchema, errors=(404,), path_params=WEBHOOK_PARAM,
          tags=TAGS, summary="One webhook subscription")
def get_webhook(webhook_id):
    return call(SERVICE, "get_webhook", _webhook_id(webhook_id))


@bp.post("/webhooks/<webhook_id>/pause")
@endpoint(roles=WRITERS, response=WebhookSchema, errors=(404, 409), path_params=WEBHOOK_PARAM,
          tags=TAGS, summary="Pause deliveries (they accumulate until resumed)")
def pause_webhook(webhook_id):
    return call(SERVICE, "pause_webhook", _webhook_id(webhook_id))


@bp.post("/webhooks/<webhook_id>/resume")
@endpoint(roles=WRITERS, response=WebhookSchema, errors=(404, 409), path_params=WEBHOOK_PARAM,
          tags=TAGS, summary="Resume deliveries: what accumulated is sent, in order")
def resume_webhook(webhook_id):
    return call(SERVICE, "resume_webhook", _webhook_id(webhook_id))


@bp.delete("/webhooks/<webhook_id>")
@endpoint(roles=WRITERS, status=204, errors=(404,), path_params=WEBHOOK_PARAM, tags=TAGS,
          summary="Delete a subscription and its delivery log")
def delete_webhook(webhook_id):
    call(SERVICE, "delete_webhook", _webhook_id(webhook_id))
    return None


@bp.get("/webhooks/<webhook_id>/deliveries")
@endpoint(roles=READERS, query=DeliveryQuerySchema, response=page_of(DeliverySchema),
          errors=(404,), path_params=WEBHOOK_PARAM, tags=TAGS,
          summary="The delivery log, newest first (status, attempts, last error)")
def list_deliveries(webhook_id, query):
    return call(SERVICE, "list_deliveries", _webhook_id(webhook_id), query)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@endpoint(roles=WRITERS, response=DeliverySchema, errors=(404,), path_params=DELIVERY_PARAMS,
          tags=TAGS, summary="Send one delivery again (delivered or not)")
def redeliver(webhook_id, delivery_id):
    check_path("delivery_id", delivery_id, DELIVERY_ID.strip("^$"), "not a delivery id")
    return call(SERVICE, "redeliver", _webhook_id(webhook_id), delivery_id)
