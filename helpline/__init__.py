"""The helpline web application."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from helpline.config import ConfigError, Settings


def create_app(
    settings: Settings | None = None, overrides: Mapping[str, object] | None = None
) -> Flask:
    """Build the app: settings, extensions, blueprints. Refuses an unusable configuration."""
    from helpline import logs, security
    from helpline.admin.views import bp as admin_bp
    from helpline.auth import passwords, permissions
    from helpline.auth.views import bp as auth_bp
    from helpline.auth.views import load_user
    from helpline.cases import who5
    from helpline.console.alerts import bp as alerts_bp
    from helpline.console.callbacks import bp as my_callbacks_bp
    from helpline.console.calls import bp as calls_bp
    from helpline.console.case_start import bp as case_start_bp
    from helpline.console.cases import bp as cases_bp
    from helpline.console.person_pages import bp as persons_bp
    from helpline.console.records import bp as records_bp
    from helpline.console.referrals import bp as referrals_bp
    from helpline.console.views import bp as console_bp
    from helpline.console.voicemails import bp as voicemails_bp
    from helpline.extensions import csrf, db, init_redis, login_manager
    from helpline.health import bp as health_bp
    from helpline.i18n import init_i18n
    from helpline.ivr.registry import FlowRegistry, FlowsInvalid
    from helpline.privacy import crypto as privacy
    from helpline.privacy import retention
    from helpline.records.catalog import CatalogInvalid, load_catalog
    from helpline.routing.live import init_routing
    from helpline.routing.policy import PolicyError
    from helpline.routing.whisper import WhisperError
    from helpline.supervisor.callbacks import bp as supervisor_callbacks_bp
    from helpline.supervisor.cases import bp as supervisor_cases_bp
    from helpline.supervisor.pages import bp as supervisor_bp
    from helpline.voice.callbacks import bp as voice_callbacks_bp
    from helpline.voice.offers import bp as voice_offers_bp
    from helpline.voice.queue import bp as voice_queue_bp
    from helpline.voice.staffline import bp as voice_staff_bp
    from helpline.voice.views import bp as voice_bp

    settings = settings or Settings.from_env()
    settings.require_sound()
    logs.configure(settings.log_level)
    privacy.configure(privacy.Keyring(settings.encryption_keys, settings.blind_index_key))
    passwords.configure(test=settings.env == "test")

    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.from_mapping(security.flask_config(settings))
    app.config.update(overrides or {})
    app.extensions["helpline.settings"] = settings
    try:
        app.extensions["helpline.flows"] = FlowRegistry.from_directory(settings.ivr_flows_path)
    except FlowsInvalid as error:
        raise ConfigError(str(error)) from None
    try:
        init_routing(app, settings.ivr_flows_path)
    except (PolicyError, WhisperError) as error:
        raise ConfigError(str(error)) from None
    try:
        app.extensions["helpline.catalog"] = load_catalog(settings.data_path)
    except CatalogInvalid as error:
        raise ConfigError(str(error)) from None
    try:
        app.extensions["helpline.retention"] = retention.load_policy(
            settings.data_path / retention.FILE
        )
    except retention.RetentionError as error:
        raise ConfigError(str(error)) from None
    try:
        app.extensions["helpline.who5"] = who5.load(settings.data_path / who5.FILE)
    except who5.Who5Error as error:
        raise ConfigError(str(error)) from None
    try:
        permissions.configure(permissions.load_rules(settings.data_path / permissions.FILE))
    except permissions.PermissionsError as error:
        raise ConfigError(str(error)) from None
    if settings.trusted_proxy_count:
        # Behind a TLS-terminating proxy: take the client address and scheme from the
        # X-Forwarded-* headers the trusted proxies add, and from nobody else.
        count = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.user_loader(load_user)
    init_redis(app, settings.redis_url or "redis://127.0.0.1:6379/0")
    init_i18n(app)

    for blueprint in (auth_bp, console_bp, supervisor_bp, admin_bp, health_bp, voice_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(records_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(calls_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(my_callbacks_bp)
    app.register_blueprint(voicemails_bp)
    app.register_blueprint(voice_queue_bp)
    app.register_blueprint(voice_offers_bp)
    app.register_blueprint(voice_callbacks_bp)
    app.register_blueprint(supervisor_callbacks_bp)
    app.register_blueprint(voice_staff_bp)
    for blueprint in (cases_bp, case_start_bp, persons_bp, supervisor_cases_bp):
        app.register_blueprint(blueprint)
    security.install(app, settings)
    return app
