"""The one user-facing error type. Stdlib only."""


class RlevError(Exception):
    """A problem the user can fix: bad path, bad option, fatal malformed input, missing optional extra.

    The message says what, where and what to do; the CLI prints it as one line and exits 1.
    """
