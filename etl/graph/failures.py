"""What the driver's errors mean to a user, and when a store call tries again.

Every store call turns a driver error into one sentence a person can act on (`describe`); a lost
connection is tried again until the retry time is spent, and a write that conflicted with another
loader's is tried again after a random pause. Each retry is logged at debug level with its reason.
"""

from __future__ import annotations

import logging
import random
import ssl
import time

from neo4j import exceptions as neo4j_errors

from etl.errors import StoreError, StoreUnavailableError
from etl.graph.embedded import BoltEndpoint

log = logging.getLogger(__name__)


def back_off(source_id: str, error: Exception, attempt: int, deadline: float) -> None:
    """Sleep a random while, longer each attempt, so two loaders writing the same new things part ways."""
    if time.monotonic() >= deadline:
        raise StoreError(f"{source_id} kept conflicting with concurrent writes; load it again") from error
    pause = random.uniform(0, min(2.0, 0.05 * 2**attempt))
    reason = getattr(error, "message", None) or error
    log.debug(
        "%s: attempt %d in %.2f s, after a concurrent write or a dropped commit: %s", source_id, attempt, pause, reason
    )
    time.sleep(pause)


def tls_failure(error: BaseException) -> ssl.SSLError | None:
    while error is not None and not isinstance(error, ssl.SSLError):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def describe(endpoint: BoltEndpoint, error: Exception) -> StoreUnavailableError:
    """One sentence a user can act on. Never the password: the driver's messages do not carry it."""
    uri = endpoint.uri
    if isinstance(error, neo4j_errors.AuthError):
        return StoreUnavailableError(
            f"the graph server at {uri} refused the credentials of user {endpoint.user!r}; "
            "check NEO4J_USER and NEO4J_PASSWORD"
        )
    if tls := tls_failure(error):
        if isinstance(tls, ssl.SSLCertVerificationError):
            return StoreUnavailableError(
                f"the graph server at {uri} has a certificate this machine does not trust ({tls.reason}); "
                "use a +ssc scheme (bolt+ssc://) to accept a self-signed one"
            )
        return StoreUnavailableError(f"no TLS connection to {uri}: the server there does not speak TLS; try bolt://")
    if isinstance(error, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired | OSError):
        if "handshake" in str(error).lower() and uri.startswith(("bolt://", "neo4j://")):
            return StoreUnavailableError(
                f"the server at {uri} broke off the Bolt handshake; if it requires TLS, use bolt+s:// (or neo4j+s://)"
            )
        return StoreUnavailableError(f"cannot reach the graph server at {uri}; is it running?")
    if isinstance(error, neo4j_errors.ConfigurationError | ValueError):
        return StoreUnavailableError(f"NEO4J_URI {uri!r} is not usable: {error}")
    message = getattr(error, "message", None) or str(error)
    return StoreUnavailableError(f"the graph server at {uri} failed: {message}")


DRIVER_ERRORS = (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError)
RECONNECT_PAUSE = 1.0


def lost_connection(error: Exception) -> bool:
    """A connection lost in a way the driver does not retry itself, as a restarting server causes: a
    reset while it starts up, a read whose COMMIT went unanswered (a read has nothing to commit)."""
    lost = isinstance(error, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired | OSError)
    return lost and tls_failure(error) is None


def reconnect_in_time(error: Exception, deadline: float) -> bool:
    """After a pause, whether to try again: the connection was lost and the retry time is not spent."""
    if lost_connection(error) and time.monotonic() < deadline:
        log.debug(
            "connection lost (%s); trying again in %.1f s", getattr(error, "message", None) or error, RECONNECT_PAUSE
        )
        time.sleep(RECONNECT_PAUSE)
        return True
    return False
