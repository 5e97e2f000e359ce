"""A voicemail end to end: the sandbox over HTTP, a real RQ worker process, real Redis,
and every callback the sandbox sends delivered twice."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpline.models import CallbackRequest, Recording, Voicemail
from helpline.sandbox.emulator.deliveries import Faults
from tests.live import Line, all_answered
from tests.voice import CLOSED


@pytest.mark.slow
def test_voicemail_live_is_filed_once_under_duplicated_callbacks(line: Line) -> None:
    """Out of hours a caller leaves a message; with every recording and status callback
    sent twice, the message is one voicemail recording, one message with the caller's
    consent, and one callback, and the sandbox got TwiML for every request."""
    line.app.extensions["helpline.clock"] = lambda: CLOSED
    line.sandbox.exchange.set_faults(Faults(duplicate=1.0))
    leg = line.call("+905321118877", "press 1; press 2; press 2; press 2; record 6; hangup")
    message = line.until(
        lambda: line.factory.session.scalars(sa.select(Voicemail)).one_or_none(),
        "the voicemail to be filed",
    )
    assert line.sandbox.exchange.settle(60)
    session = line.factory.session
    session.expire_all()
    assert session.scalars(sa.select(Recording.kind)).all() == ["voicemail"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Voicemail)) == 1
    assert message.consented_at is not None
    assert message.language == "tr"
    reasons = session.scalars(sa.select(CallbackRequest.reason)).all()
    assert reasons == ["voicemail"]
    assert message.callback_request_id is not None
    all_answered(leg)
