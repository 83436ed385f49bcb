"""Errors that are the user's to fix: the CLI prints their message on one line and exits 2."""


class CnnstatError(Exception):
    """A mistake in what the user asked for; its message says what was wrong and what would be right."""

    exit_code = 2


class UnknownModelError(CnnstatError, LookupError):
    """A model name that is neither registered nor an alias."""
