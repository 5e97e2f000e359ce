"""The forms of a referral's steps (CSRF-protected by Flask-WTF), and their labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs lag 3.3
from wtforms.validators import DataRequired, Length, Optional

from helpline.i18n import LANGUAGE_NAMES
from helpline.models.enums import ContactPreference, ReferralStatus
from helpline.referrals.service import NOTE_MAX, SERVICE_WHAT_MAX

PREFERENCES: dict[str, LazyString] = {
    ContactPreference.ANY_TIME.value: _l("Any time"),
    ContactPreference.MORNINGS.value: _l("Mornings"),
    ContactPreference.AFTERNOONS.value: _l("Afternoons"),
    ContactPreference.EVENINGS.value: _l("Evenings"),
}
STATUSES: dict[str, LazyString] = {
    ReferralStatus.PROPOSED.value: _l("Proposed"),
    ReferralStatus.CONSENTED.value: _l("Consent recorded"),
    ReferralStatus.SENT.value: _l("Sent"),
    ReferralStatus.ACCEPTED.value: _l("Accepted"),
    ReferralStatus.DECLINED.value: _l("Declined"),
    ReferralStatus.SERVICE_PROVIDED.value: _l("Service provided"),
    ReferralStatus.CLOSED.value: _l("Closed"),
}


class ConsentForm(FlaskForm):  # type: ignore[misc]
    contact_preference = SelectField(
        _l("The centre may call"),
        choices=[SelectChoice(value, label) for value, label in PREFERENCES.items()],
        validators=[DataRequired()],
    )
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice(value, label) for value, label in LANGUAGE_NAMES.items()],
        validators=[DataRequired()],
    )


class DeclineForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=NOTE_MAX)])


class ServiceForm(FlaskForm):  # type: ignore[misc]
    on = DateField(_l("Date of the service"), validators=[DataRequired()])
    what = StringField(
        _l("Service provided"), validators=[DataRequired(), Length(max=SERVICE_WHAT_MAX)]
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class CloseForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])
