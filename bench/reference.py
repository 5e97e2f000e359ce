"""Reference views, measured in the same run and gunicorn setup as the real webhooks.

- `/bench/constant`: a bare Flask view returning constant TwiML (the ceiling);
- `/bench/write`: one ORM insert and commit plus one Redis write (the cost of any view
  that records something).

They are mounted only by `bench.reference.create_bench_app`, never by the product.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from helpline import create_app
from helpline.auth.access import PUBLIC, allow
from helpline.extensions import csrf, db, get_redis
from helpline.models import PresenceChange

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>'

bp = Blueprint("bench", __name__, url_prefix="/bench")
csrf.exempt(bp)


@bp.post("/constant")
@allow(PUBLIC)
def constant() -> Response:
    return Response(TWIML, mimetype="text/xml")


@bp.post("/write")
@allow(PUBLIC)
def write() -> Response:
    row = PresenceChange(staff_id=1, state="available", reason="bench")
    db.session.add(row)
    db.session.commit()
    get_redis().hset("bench:last", "id", row.id)
    return Response(TWIML, mimetype="text/xml")


def create_bench_app() -> Flask:
    """The production app from the environment, plus the two reference views."""
    app = create_app()
    app.register_blueprint(bp)
    return app
