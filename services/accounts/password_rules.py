"""How strong a password must be. Pure rules; the messages never repeat the password.

At least MIN_LENGTH characters, at least 3 of the 4 classes (lower case, upper
case, digit, symbol), and not containing the login (in any case). At most
MAX_LENGTH: Argon2 hashes any length, but a megabyte "password" is an attack.
"""
MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_CLASSES = 3


def classes(password):
    """Which of lower, upper, digit, symbol the password uses."""
    found = set()
    for ch in password:
        if ch.islower():
            found.add("lower")
        elif ch.isupper():
            found.add("upper")
        elif ch.isdigit():
            found.add("digit")
        else:  # punctuation, spaces, and letters without case (汉字)
            found.add("symbol")
    return found


def problems(password, login=None):
    """[] when the password is strong enough, else what to change (for the user to read)."""
    if not isinstance(password, str):
        return ["must be a string"]
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"at most {MAX_LENGTH} characters")
    if any(ch in password for ch in "\r\n\t\x00"):
        found.append("no line breaks, tabs or NUL characters")
    if len(classes(password)) < MIN_CLASSES:
        found.append(f"at least {MIN_CLASSES} of: lower case, upper case, digits, symbols")
    if login and login.lower() in password.lower():
        found.append("must not contain the login")
    return found
