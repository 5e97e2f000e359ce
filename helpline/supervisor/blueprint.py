"""The supervisors' blueprint, and nothing else: every supervisor views module imports `bp`
from here, and `pages` imports those modules so that their routes register."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
