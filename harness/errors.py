"""Errors that are the user's to fix: the CLI prints them as one line and exits 2."""


class UserError(Exception):
    """Bad usage or input (unknown suite, unreadable config...). The message says what and where."""
