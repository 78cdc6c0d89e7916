"""Exceptions: one class per libpirsch result code, all under :class:`PirschError`.

Each carries the library's own explanation (``pirsch_last_error()``, read right after the
failing call in the same thread) as its message, and the result code as ``.code``.
"""
import builtins
import re
from typing import Dict, Optional, Type

__all__ = [
    "PirschError",
    "LibraryError",
    "InvalidArgument",
    "AuthError",
    "HTTPError",
    "NetworkError",
    "TimeoutError",
    "QueueFull",
    "Closed",
    "InternalError",
]

# The result codes of pirsch.h (PIRSCH_OK, PIRSCH_ERR_*).
OK = 0
ERR_NULL_ARGUMENT = 1
ERR_INVALID_ARGUMENT = 2
ERR_INVALID_UTF8 = 3
ERR_AUTH = 4
ERR_HTTP = 5
ERR_NETWORK = 6
ERR_TIMEOUT = 7
ERR_QUEUE_FULL = 8
ERR_CLOSED = 9
ERR_PANIC = 99


class PirschError(Exception):
    """Base of every error this package raises.

    ``code`` is the libpirsch result code (``None`` for errors of the binding itself),
    ``message`` the library's explanation (also ``str(error)``).
    """

    code: Optional[int] = None

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class LibraryError(PirschError):
    """libpirsch could not be found or loaded, or its version does not fit this package."""


class InvalidArgument(PirschError, ValueError):
    """A missing or invalid field, config key or value (also NULL arguments and bad UTF-8).
    Nothing was sent."""

    code = ERR_INVALID_ARGUMENT


class AuthError(PirschError):
    """The credentials were refused, or no token could be obtained with them."""

    code = ERR_AUTH


class HTTPError(PirschError):
    """The API answered with a non-2xx status that retries did not overcome.

    ``status`` is the HTTP status (e.g. 403) when the message names one, else ``None``.
    """

    code = ERR_HTTP

    def __init__(self, message: str, code: Optional[int] = None, status: Optional[int] = None) -> None:
        super().__init__(message, code)
        if status is None:
            m = re.search(r"\bHTTP (\d{3})\b", message)
            status = int(m.group(1)) if m else None
        self.status = status


class NetworkError(PirschError, ConnectionError):
    """Connect, TLS, DNS or a reset connection."""

    code = ERR_NETWORK


class TimeoutError(PirschError, builtins.TimeoutError):
    """A request or flush deadline passed."""

    code = ERR_TIMEOUT


class QueueFull(PirschError):
    """Enqueue refused: the bounded queue is full (counted in ``stats().dropped_queue_full``)."""

    code = ERR_QUEUE_FULL


class Closed(PirschError):
    """The client is closed or closing."""

    code = ERR_CLOSED


class InternalError(PirschError):
    """A bug inside libpirsch was caught at its boundary (or a result code this package does
    not know); the process keeps running."""

    code = ERR_PANIC


_BY_CODE: Dict[int, Type[PirschError]] = {
    ERR_NULL_ARGUMENT: InvalidArgument,
    ERR_INVALID_ARGUMENT: InvalidArgument,
    ERR_INVALID_UTF8: InvalidArgument,
    ERR_AUTH: AuthError,
    ERR_HTTP: HTTPError,
    ERR_NETWORK: NetworkError,
    ERR_TIMEOUT: TimeoutError,
    ERR_QUEUE_FULL: QueueFull,
    ERR_CLOSED: Closed,
    ERR_PANIC: InternalError,
}


def error_for(code: int, message: str) -> PirschError:
    """The exception for a result code and the library's message."""
    cls = _BY_CODE.get(code, InternalError)
    return cls(message, code)
