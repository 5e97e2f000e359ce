"""The supervisor's live pages: the wallboard (with its JSON) and the flow diagrams.

Registered on the supervisor blueprint (`views.bp`); glue only, the counting is in
`wallboard` and the drawing in `helpline.ivr.diagram`.
"""

from __future__ import annotations

from flask import Response, jsonify, render_template

from helpline.auth.access import allow
from helpline.extensions import db, get_redis
from helpline.models import utcnow
from helpline.models.enums import Role
from helpline.routing import live
from helpline.supervisor import wallboard
from helpline.supervisor.views import _catalog, bp, local_time


def _board() -> wallboard.Board:
    languages = {code: lang.english_name for code, lang in _catalog().languages.items()}
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
    response = jsonify({**wallboard.board_json(board), "at_local": local_time(board.at)})
    response.headers["Cache-Control"] = "no-store"
    return response
