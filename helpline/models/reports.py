"""Programme reports kept for download: the monthly job's output (docs/programme-report.md).

A row holds the files as they were produced (both formats) and the audit details of the
report, so a later download is audited with the same period, scope and threshold. The
files hold counts only, suppressed: no personal data is kept here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, UTCDateTime
from helpline.models.calls import BigId


class ProgrammeReport(Base):
    __tablename__ = "programme_report"
    __table_args__ = (sa.UniqueConstraint("first_day", "last_day", "scope_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    first_day: Mapped[dt.date] = mapped_column(sa.Date)
    last_day: Mapped[dt.date] = mapped_column(sa.Date)
    scope_key: Mapped[str] = mapped_column(sa.String(140))  # "line", "site:CODE", "province:NAME"
    scope_label: Mapped[str] = mapped_column(sa.String(200))
    threshold: Mapped[int]
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the audit details
    csv_text: Mapped[str] = mapped_column(sa.Text)
    xlsx: Mapped[bytes] = mapped_column(sa.LargeBinary)
