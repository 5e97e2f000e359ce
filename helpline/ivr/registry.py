"""The flows an app serves, and every version a call in progress was pinned to."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from helpline.ivr import model
from helpline.ivr.lint import check
from helpline.models import FlowVersion
from helpline.models.base import DbSession


class FlowsInvalid(RuntimeError):
    """ivr_flows/ has problems; the message lists them with file and line."""


class FlowRegistry:
    def __init__(self, catalog: model.Catalog) -> None:
        self.catalog = catalog
        self._versions: dict[tuple[str, str], model.Flow] = {
            (flow.id, flow.version): flow for flow in catalog.flows.values()
        }
        self._stored: set[tuple[str, str]] = set()

    @classmethod
    def from_directory(cls, root: Path) -> FlowRegistry:
        catalog, problems = check(root)
        if problems:
            shown = "\n  - ".join(str(p) for p in problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            raise FlowsInvalid(f"ivr_flows has {len(problems)} problem(s):\n  - {shown}{more}")
        return cls(catalog)

    def current(self, flow_id: str) -> model.Flow:
        return self.catalog.flows[flow_id]

    def pin(self, session: DbSession, flow: model.Flow) -> None:
        """Keep this version in the database, once, so it outlives edits and restarts."""
        key = (flow.id, flow.version)
        if key in self._stored:
            return
        exists = session.scalar(
            sa.select(FlowVersion.id).where(
                FlowVersion.flow_id == flow.id, FlowVersion.version == flow.version
            )
        )
        if exists is None:
            try:
                with session.begin_nested():
                    session.add(
                        FlowVersion(
                            flow_id=flow.id,
                            version=flow.version,
                            definition=model.flow_to_json(flow),
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another process pinned it first
        self._stored.add(key)

    def find(self, session: DbSession, flow_id: str, version: str) -> model.Flow | None:
        """The flow a call was pinned to: from memory, or rebuilt from the database."""
        key = (flow_id, version)
        if key not in self._versions:
            row = session.scalars(
                sa.select(FlowVersion).where(
                    FlowVersion.flow_id == flow_id, FlowVersion.version == version
                )
            ).one_or_none()
            if row is None:
                return None
            self._versions[key] = model.flow_from_json(row.definition)
        return self._versions[key]
