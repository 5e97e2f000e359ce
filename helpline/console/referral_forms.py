"""The forms of a referral's steps (CSRF-protected by Flask-WTF), and their labels."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs lag 3.3
from wtforms.validators import DataRequired, Length, Optional

from helpline.i18n import LANGUAGE_NAMES
from helpline.models.enums import ContactPreference, ReferralStatus
from helpline.referrals.service import NOTE_MAX, SERVICE_WHAT_MAX

PREFERENCES: dict[str, LazyString] = {
    ContactPreference.ANY_TIME.value: lazy_gettext("Any time"),
    ContactPreference.MORNINGS.value: lazy_gettext("Mornings"),
    ContactPreference.AFTERNOONS.value: lazy_gettext("Afternoons"),
    ContactPreference.EVENINGS.value: lazy_gettext("Evenings"),
}
STATUSES: dict[str, LazyString] = {
    ReferralStatus.PROPOSED.value: lazy_gettext("Proposed"),
    ReferralStatus.CONSENTED.value: lazy_gettext("Consent recorded"),
    ReferralStatus.SENT.value: lazy_gettext("Sent"),
    ReferralStatus.ACCEPTED.value: lazy_gettext("Accepted"),
    ReferralStatus.DECLINED.value: lazy_gettext("Declined"),
    ReferralStatus.SERVICE_PROVIDED.value: lazy_gettext("Service provided"),
    ReferralStatus.CLOSED.value: lazy_gettext("Closed"),
}


class ConsentForm(FlaskForm):  # type: ignore[misc]
    contact_preference = SelectField(
        lazy_gettext("The centre may call"),
        choices=[SelectChoice(value, label) for value, label in PREFERENCES.items()],
        validators=[DataRequired()],
    )
    language = SelectField(
        lazy_gettext("Language"),
        choices=[SelectChoice(value, label) for value, label in LANGUAGE_NAMES.items()],
        validators=[DataRequired()],
    )


class DeclineForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        lazy_gettext("Reason"), validators=[DataRequired(), Length(max=NOTE_MAX)]
    )


class ServiceForm(FlaskForm):  # type: ignore[misc]
    on = DateField(lazy_gettext("Date of the service"), validators=[DataRequired()])
    what = StringField(
        lazy_gettext("Service provided"), validators=[DataRequired(), Length(max=SERVICE_WHAT_MAX)]
    )
    note = TextAreaField(
        lazy_gettext("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)]
    )


class CloseForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField(
        lazy_gettext("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)]
    )
