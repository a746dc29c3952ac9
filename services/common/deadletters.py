"""`wushe dead-letters`: read the dead-letter queue, and send letters back.

Listing takes every message without acknowledging it and closes the channel,
which returns them all to the queue untouched. Retrying republishes each to the
queue it died in (the broker's x-death header names it) with confirms, and only
then acknowledges it.
"""
import json

import kombu

from services.common import config
from services.common.inbox import DEAD_LETTER_QUEUE


def _origin(message):
    deaths = (message.headers or {}).get("x-death") or []
    if deaths:
        return deaths[0].get("queue"), deaths[0].get("reason"), deaths[0].get("count")
    return None, None, None


def read(amqp_uri=None, retry=False, limit=1000):
    """Returns [{queue, reason, count, event}], retried ones sent back if `retry`."""
    letters = []
    with kombu.Connection(amqp_uri or config.amqp_uri(),
                          transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = kombu.Producer(channel)
        for _ in range(limit):
            message = channel.basic_get(DEAD_LETTER_QUEUE, no_ack=False)
            if message is None:
                break
            queue, reason, count = _origin(message)
            try:
                body = json.loads(message.body)
            except ValueError:
                body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
            letters.append({"queue": queue, "reason": reason, "deaths": count, "event": body})
            if retry and queue:
                producer.publish(message.body, exchange="", routing_key=queue,
                                 content_type=message.content_type,
                                 content_encoding=message.content_encoding,
                                 delivery_mode=2, message_id=message.properties.get("message_id"),
                                 type=message.properties.get("type"))
                channel.basic_ack(message.delivery_tag)
        channel.close()  # unacknowledged letters go back to the queue
    return letters


def main(retry=False, limit=1000):
    letters = read(retry=retry, limit=limit)
    for letter in letters:
        event = letter["event"] if isinstance(letter["event"], dict) else {}
        print(json.dumps({"queue": letter["queue"], "reason": letter["reason"],
                          "deaths": letter["deaths"], "type": event.get("type"),
                          "id": event.get("id"), "source": event.get("source"),
                          "subject": event.get("subject")}, ensure_ascii=False))
    verb = "sent back" if retry else "in the dead-letter queue"
    print(f"{len(letters)} dead letters {verb}")
