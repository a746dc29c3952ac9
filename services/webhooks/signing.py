"""Signing secrets: made, kept encrypted at rest, and used to sign each delivery.

The signature follows Stripe's scheme with Standard Webhooks' header names:
`Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
the same `t` in `Webhook-Timestamp`, so a receiver refuses old (replayed)
deliveries. The HMAC key is the secret's UTF-8 bytes, as shown once.
Encryption is cryptography's Fernet (AES-128-CBC + HMAC-SHA256, authenticated),
MultiFernet so a key can be rotated (settings.secret_keys).
"""
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, MultiFernet

from services.webhooks import settings

PREFIX = "whsec_"


def new_secret():
    return PREFIX + secrets.token_urlsafe(32)


def _fernet():
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key)
                        for key in settings.secret_keys()])


def encrypt(secret):
    return _fernet().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(token):
    return _fernet().decrypt(token.encode("ascii")).decode("utf-8")


def signature(secret, timestamp, body):
    """Hex HMAC-SHA256 of `<timestamp>.<body>` (body: the bytes sent)."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                    hashlib.sha256).hexdigest()


def headers(secret, message_id, timestamp, body):
    return {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": f"t={timestamp},v1={signature(secret, timestamp, body)}",
    }
