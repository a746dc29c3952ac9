"""The volunteer service's own settings (environment, read through services.common.config.env).

  PII_HASH_KEY                     key of the HMAC-SHA256 under which ID numbers are
                                   matched (id_numbers.py); a local development key by
                                   default. In the cluster it comes from Secret
                                   `wushe-volunteer-pii`. Keep it: a new key makes every
                                   stored hash unmatchable, and the numbers themselves
                                   are not kept, so they cannot be hashed again.
  HOURS_WINDOW_TOLERANCE_MINUTES   how far a record may lie outside its activity's
                                   window (default 30).
"""
import logging

from services.common import config

log = logging.getLogger(__name__)

DEV_PII_HASH_KEY = "wushe-local-development-pii-key-change-me"


def pii_hash_key():
    return config.env("PII_HASH_KEY", DEV_PII_HASH_KEY)


def warn_if_development_key():
    if pii_hash_key() == DEV_PII_HASH_KEY:
        log.warning("PII_HASH_KEY is not set: ID numbers are hashed with the local development "
                    "key; set it (Secret wushe-volunteer-pii) anywhere real people register")


def window_tolerance_minutes():
    value = config.env("HOURS_WINDOW_TOLERANCE_MINUTES", "30")
    try:
        minutes = int(value)
    except ValueError:
        raise RuntimeError(f"HOURS_WINDOW_TOLERANCE_MINUTES must be whole minutes, got {value!r}")
    return max(minutes, 0)
