"""The monthly programme report through a real RQ worker process: the worker queues the
job between its jobs, the job keeps last month's report, and running it again keeps one."""

from __future__ import annotations

import redis
import sqlalchemy as sa
from rq import Queue

from helpline.models import ProgrammeReport, utcnow
from helpline.tasks.reports import enqueue_monthly_report, keep_last_month_report, last_month
from tests.live import Line


def _kept(line: Line) -> list[ProgrammeReport]:
    line.factory.session.expire_all()
    return list(line.factory.session.scalars(sa.select(ProgrammeReport)))


def test_worker_keeps_last_month_report_once(line: Line, redis_url: str) -> None:
    """Queued as the workers queue it, the job keeps last month's whole-line report; a
    second run through the worker keeps the same single report."""
    connection = redis.Redis.from_url(redis_url)
    enqueue_monthly_report(connection)  # False if the worker queued it already: either way
    kept = line.until(lambda: _kept(line), "last month's report kept")
    first, last = last_month(utcnow(), line.app.extensions["helpline.settings"].timezone)
    assert [(k.first_day, k.last_day, k.scope_key) for k in kept] == [(first, last, "line")]
    job = Queue("maintenance", connection=connection).enqueue(keep_last_month_report)
    line.until(lambda: job.get_status(refresh=True) == "finished", "the second run finished")
    assert job.return_value() == kept[0].id
    assert [k.id for k in _kept(line)] == [kept[0].id]
