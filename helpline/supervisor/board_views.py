"""The supervisor's views of the line: the live wallboard (with its JSON) and the flows.

Registered on the supervisor blueprint (`views.bp`); glue only, the counting is in
`wallboard` and the drawing in `helpline.ivr.diagram`.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, jsonify, render_template, request

from helpline.auth.access import allow
from helpline.extensions import db, get_redis
from helpline.ivr.diagram import render_svg
from helpline.ivr.model import Flow
from helpline.ivr.registry import FlowRegistry
from helpline.models import FlowVersion, utcnow
from helpline.models.enums import Role
from helpline.routing import live
from helpline.supervisor import common, wallboard
from helpline.supervisor.blueprint import bp


def _board() -> wallboard.Board:
    languages = {code: lang.english_name for code, lang in common.catalog().languages.items()}
    return wallboard.read_board(db.session, get_redis(), live.policy(), languages, utcnow())


@bp.get("/wallboard")
@allow(Role.SUPERVISOR)
def wallboard_page() -> str:
    """Callers waiting and staff states per language; the page's script keeps it live."""
    return render_template(
        "supervisor/wallboard.html", board=_board(), poll_seconds=wallboard.POLL_SECONDS
    )


@bp.get("/wallboard.json")
@allow(Role.SUPERVISOR)
def wallboard_data() -> Response:
    """The same board as JSON, for the page's polling script."""
    board = _board()
    response = jsonify({**wallboard.board_json(board), "at_local": common.local_time(board.at)})
    response.headers["Cache-Control"] = "no-store"
    return response


def _registry() -> FlowRegistry:
    found: FlowRegistry = current_app.extensions["helpline.flows"]
    return found


def _flow(flow_id: str, version: str | None) -> Flow:
    """The flow as in ivr_flows/ now, or a version a call was pinned to; 404 if neither."""
    registry = _registry()
    current = registry.catalog.flows.get(flow_id)
    if version is None or (current is not None and current.version == version):
        if current is None:
            abort(404)
        return current
    pinned = registry.find(db.session, flow_id, version)
    if pinned is None:
        abort(404)
    return pinned


@bp.get("/flows")
@allow(Role.SUPERVISOR)
def flows() -> str:
    """Every flow in ivr_flows/ with its diagram, and the versions calls were pinned to."""
    pinned = db.session.scalars(
        sa.select(FlowVersion).order_by(FlowVersion.flow_id, FlowVersion.first_used_at.desc())
    ).all()
    return render_template(
        "supervisor/flows.html",
        flows=sorted(_registry().catalog.flows.values(), key=lambda f: f.id),
        pinned=pinned,
    )


@bp.get("/flows/<flow_id>")
@allow(Role.SUPERVISOR)
def flow_page(flow_id: str) -> str:
    """One flow's diagram: the current one, or `?version=` a version calls used."""
    flow = _flow(flow_id, request.args.get("version") or None)
    current = _registry().catalog.flows.get(flow_id)
    return render_template(
        "supervisor/flow.html",
        flow=flow,
        is_current=current is not None and current.version == flow.version,
    )


@bp.get("/flows/<flow_id>/diagram.svg")
@allow(Role.SUPERVISOR)
def flow_diagram(flow_id: str) -> Response:
    """The diagram (ivr/diagram.py) as an SVG image."""
    flow = _flow(flow_id, request.args.get("version") or None)
    return Response(render_svg(flow), mimetype="image/svg+xml")
