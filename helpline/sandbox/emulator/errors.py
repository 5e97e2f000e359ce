"""What the exchange refuses, with the HTTP status each maps to in the APIs."""

from __future__ import annotations


class ExchangeError(Exception):
    """A request the exchange cannot do; `status` is the HTTP status it maps to."""

    status = 400


class NotFound(ExchangeError):
    status = 404


class Conflict(ExchangeError):
    """The thing exists but is not in a state that allows this (ended, not ringing, ...)."""

    status = 409


class Busy(ExchangeError):
    """Too much at once: calls, phones or queues beyond their bounds."""

    status = 429
