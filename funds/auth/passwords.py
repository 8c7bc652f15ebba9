"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from funds.organisation import current_organisation

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
# Digits and symbols people add around a common word ("Password2024!").
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def _organisation_name() -> str:
    """The name on the organisation page; none where the database cannot say (the
    command line before the first upgrade)."""
    try:
        return current_organisation().name
    except SQLAlchemyError:
        return ""


def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, lower case."""
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_COST"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id at the configured strength."""
    if len(password) > MAX_LENGTH:
        raise ValueError("password too long to hash")
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True if ``password`` matches the stored hash; never raises for a wrong password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the configured ones."""
    return _hasher().check_needs_rehash(stored_hash)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return PasswordHasher(
        time_cost, memory_cost=memory_cost, parallelism=parallelism
    ).hash("not a real password, only here to spend the same time")


def spend_verification_time(password: str) -> None:
    """Verify against a dummy hash, so an unknown email costs as long as a wrong password."""
    config = current_app.config
    verify_password(
        _dummy_hash(
            config["PASSWORD_HASH_TIME_COST"],
            config["PASSWORD_HASH_MEMORY_COST"],
            config["PASSWORD_HASH_PARALLELISM"],
        ),
        password,
    )


def password_problem(
    password: str, *, context: list[str] | tuple[str, ...] = ()
) -> str | None:
    """Say what is wrong with a new password, or None if it is acceptable.

    No composition rules (NCSC and NIST advice): length 12 to 128, not a common password,
    not a common password or a word about this organisation with digits and symbols added.
    """
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    core = _DECORATION.sub("", lowered)
    common = common_passwords()
    if lowered in common or core in common or not core:
        return "Password is too common: choose a password that is hard to guess, like three random words"
    words = {w.lower() for w in context if w}
    words |= {w.lower() for w in current_app.config.get("PASSWORD_CONTEXT_WORDS", [])}
    words.add(current_app.config.get("ORGANISATION_NAME", "").lower())
    words.add(_organisation_name().lower())
    squashed = re.sub(r"\s+", "", core)
    for word in words:
        word_squashed = re.sub(r"\s+", "", word)
        if word_squashed and (core == word or squashed == word_squashed):
            return "Password must not be based on your name, your email or the organisation's name"
    return None
