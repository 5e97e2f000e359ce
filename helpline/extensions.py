"""Flask extensions, created unbound and bound to an app in `create_app`."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from rq import Queue

from helpline.models import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()

# Queues are named by purpose; see worker.py.
QUEUE_NAMES = ("dispatch", "callbacks", "maintenance")


def init_redis(app: Flask, url: str) -> None:
    """Attach one Redis connection pool to the app."""
    app.extensions["helpline.redis"] = redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    connection: redis.Redis = current_app.extensions["helpline.redis"]
    return connection


def get_queue(name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())
