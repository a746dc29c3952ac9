"""Resident ID numbers (居民身份证号码, GB 11643-1999).

17 digits and a check character (ISO 7064 MOD 11-2; X stands for 10); digits
7-14 are the birth date, which must equal the birth date given. The number is
kept only as a keyed hash (for matching, under settings.pii_hash_key) and a
masked form (first 6 and last 4 characters); it is never stored, answered or
published in full.
"""
import datetime
import hashlib
import hmac

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_id_number(value):
    return (value or "").strip().upper() if isinstance(value, str) else ""


def id_check_character(first17):
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def id_number_problem(value):
    """Why `value` is not a valid 18-character ID number, or None."""
    number = normalise_id_number(value)
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "must be 18 characters: 17 digits and a digit or X"
    if birth_date_of(number) is None:
        return "characters 7-14 must be the birth date (YYYYMMDD)"
    if id_check_character(number[:17]) != number[17]:
        return "check character does not match (GB 11643-1999, ISO 7064 MOD 11-2)"
    return None


def birth_date_of(number):
    """The birth date in characters 7-14 of an ID number, or None."""
    digits = normalise_id_number(number)[6:14]
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        return None
    if born.year < 1900:
        return None
    return born


def hash_id_number(number, key):
    """The keyed hash under which an ID number is matched (HMAC-SHA256, hex)."""
    return hmac.new(key.encode("utf-8"), normalise_id_number(number).encode("ascii"),
                    hashlib.sha256).hexdigest()


def mask_id_number(number):
    number = normalise_id_number(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)
