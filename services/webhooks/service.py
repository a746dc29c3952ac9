"""The webhooks service: nameko entrypoints only; the work is in hooks (subscriptions),
deliveries, sender (the delivery loop), urls, signing and rules."""
from services.common import access
from services.common.inbox import inbox_handler
from services.common.service import WusheService, rpc
from services.webhooks import deliveries, hooks, schemas, subscriptions
from services.webhooks.sender import Sender


class WebhooksService(WusheService):
    name = "webhooks"

    sender = Sender()

    @staticmethod
    def prepare_database(db):
        hooks.ensure_indexes(db)
        deliveries.ensure_indexes(db)

    # -- events in --------------------------------------------------------

    @inbox_handler(subscriptions.SUBSCRIPTIONS.queue())
    def on_events(self, events):
        # One read of the subscriptions per batch. With none at all (most platforms,
        # most of the time) there is nothing to write: skip the inbox transaction.
        # Otherwise its handlers use what was read here rather than read again.
        subscribed = hooks.subscribed(self.db)
        if not subscribed:
            return
        self.inbox.handle_all(events, subscriptions.delivering_to(subscribed))
        self.sender.wake()

    # -- subscriptions ----------------------------------------------------

    @rpc
    def create_webhook(self, data, caller):
        data = access.load(schemas.WebhookCreateSchema, data)
        known = subscriptions.known_types()
        return self.command(lambda tx: hooks.create(tx, data, caller, known))

    @rpc
    def list_webhooks(self, query, caller):
        return hooks.list_page(self.db, access.load(schemas.WebhookQuerySchema, query or {}), caller)

    @rpc
    def get_webhook(self, webhook_id, caller):
        return hooks.get(self.db, webhook_id, caller)

    @rpc
    def pause_webhook(self, webhook_id, caller):
        return self.command(lambda tx: hooks.pause(tx, webhook_id, caller))

    @rpc
    def resume_webhook(self, webhook_id, caller):
        result = self.command(lambda tx: hooks.resume(tx, webhook_id, caller))
        self.sender.wake()
        return result

    @rpc
    def delete_webhook(self, webhook_id, caller):
        return self.command(lambda tx: hooks.delete(tx, webhook_id, caller))

    # -- deliveries -------------------------------------------------------

    @rpc
    def list_deliveries(self, webhook_id, query, caller):
        query = access.load(schemas.DeliveryQuerySchema, query or {})
        return deliveries.list_page(self.db, webhook_id, query, caller)

    @rpc
    def redeliver(self, webhook_id, delivery_id, caller):
        result = self.command(lambda tx: deliveries.redeliver(tx, webhook_id, delivery_id, caller))
        self.sender.wake()
        return result
