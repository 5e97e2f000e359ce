"""What every Twilio webhook shares: the flows, the TwiML renderer, and the safe wrapper."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from helpline import journal
from helpline.calls.params import IDEMPOTENCY_HEADER, idempotency_token
from helpline.extensions import db
from helpline.ivr.registry import FlowRegistry
from helpline.ivr.twiml import Renderer, Urls
from helpline.journal import replay
from helpline.models import Staff
from helpline.routing import live
from helpline.routing.staff_twiml import say_to_staff
from helpline.web import settings

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
HANG_UP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def registry() -> FlowRegistry:
    flows: FlowRegistry = current_app.extensions["helpline.flows"]
    return flows


def renderer() -> Renderer:
    config = settings()
    numbers = {"duty_line": config.duty_line_numbers} if config.duty_line_numbers else {}
    return Renderer(
        registry().catalog, Urls(config.public_base_url), numbers, config.helpline_number
    )


def callback_token() -> str | None:
    """This request's idempotency token (Twilio repeats it when it redelivers)."""
    return idempotency_token(request.headers.get(IDEMPOTENCY_HEADER))


def twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _discard_session() -> None:
    """Roll back; when the connection itself is gone, drop it without a word to it."""
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        db.session().invalidate()


def _callers_fallback() -> str:
    return renderer().fallback(None)


def _staff_fallback() -> str:
    """Sorry and goodbye to a member of staff, in their console language when the
    database can still say which that is (the leg's `s`), else the file's default."""
    language = None
    staff_id = request.args.get("s", "")
    if staff_id.isdigit():
        try:
            staff = db.session.get(Staff, int(staff_id))
            language = staff.ui_language if staff is not None else None
        except sa.exc.SQLAlchemyError:
            _discard_session()
    voice = live.whispers().for_language(language)
    return str(say_to_staff(voice, voice.texts["failed"]))


def _journal_request() -> None:
    """The database is unreachable: keep what this webhook would have written."""
    if request.endpoint not in replay.JOURNALLED:
        return
    try:
        journal.record()
    except Exception:  # the caller still gets the fallback; the log says what was lost
        log.exception("voice webhook %s: could not be journalled", request.path)
        return
    log.warning("voice webhook %s journalled: the database is unreachable", request.path)


def _replay_journal() -> None:
    """The database answers again: replay what this process journalled while it did not
    (nothing is read from disk unless this process journalled, or has not looked yet)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not journal.journal_of(app).due():
        return
    try:
        replay.replay(app)
    except Exception:  # the workers' job and the CLI replay it too
        log.exception("voice webhook %s: replaying the journal failed", request.path)
        _discard_session()


def _guarded(view: F, fallback: Callable[[], str], *, journalled: bool = False) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                answer = view(*args, **kwargs)
                _discard_session()  # what a view commits is committed; reads end here
                if journalled:
                    _replay_journal()
                return answer
            except HTTPException:
                raise
            except sa.exc.OperationalError:
                _discard_session()
                if attempt == 1:
                    log.warning(
                        "voice webhook %s lost its database connection; again", request.path
                    )
                    continue
                log.exception("voice webhook %s failed; answering with the fallback", request.path)
                if journalled:
                    _journal_request()
            except Exception:
                log.exception("voice webhook %s failed; answering with the fallback", request.path)
                _discard_session()
            break
        try:
            return twiml(fallback())
        except Exception:
            log.exception("voice webhook %s: its fallback failed too; hanging up", request.path)
            return twiml(HANG_UP)

    return wrapper  # type: ignore[return-value]


def safe(view: F) -> F:
    """Turn any failure inside a caller's webhook into the fallback TwiML (logged, rolled
    back): an apology, then the duty line or the emergency numbers.

    A database connection lost mid-request (the server restarted, or dropped it) is
    tried once more on a fresh connection: nothing was committed, and webhooks are
    idempotent because Twilio redelivers them anyway. When the database is unreachable
    the second time too, the request is journalled (helpline/journal), and replayed into
    the call log by this process's next webhook that reaches the database (or a worker).
    A view that only read leaves its transaction open; it is ended here, so a connection
    dropped after the last query is let go quietly instead of failing the request in
    Flask's teardown (an HTTP 500).
    """
    return _guarded(view, _callers_fallback, journalled=True)


def safe_for_staff(view: F) -> F:
    """`safe` for a webhook of a staff leg (an offer, the staff line): a failure says
    sorry to the member of staff and hangs up. The callers' fallback would put a staff
    phone through to the duty line, and keep it from every other call meanwhile."""
    return _guarded(view, _staff_fallback)
