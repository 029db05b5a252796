"""The errors a user can cause and act on. The CLI prints their message, never their traceback."""


class VpcflowError(Exception):
    """Base of every error the CLI turns into one sentence and an exit status."""

    exit_code = 1


class UsageError(VpcflowError):
    """Bad option values, bad query parameters, paths that match nothing."""

    exit_code = 2


class SourceError(VpcflowError):
    """A log file or object that cannot be read or parsed as a whole."""


class StoreError(VpcflowError):
    """The graph server cannot be reached, refuses the credentials, or rejects a query."""


class StoreUnavailableError(StoreError):
    """The graph server cannot be reached or refuses the connection: no later write can succeed either."""


class StoreBusyError(StoreError):
    """The embedded store's data directory is held by another process."""


class QueryError(VpcflowError):
    """A saved query that does not exist, has a bad header, or fails on the server."""
