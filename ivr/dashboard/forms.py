"""The dashboard's forms (Flask-WTF: each carries the session's CSRF token)."""
from __future__ import annotations

from typing import Any

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ivr import passwords
from ivr.dashboard.blueprint import practice_settings
from ivr.escalations.models import Role
from ivr.escalations.worklist import CATEGORY_LABELS, OUTCOME_MAX, OUTCOME_PRESETS

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TIME_RE = r"^([01]\d|2[0-3]):[0-5]\d$"


def choices(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def _password_rules(form: FlaskForm, field: Field) -> None:
    """Length and guessability (zxcvbn); the person's email and name, the practice's name and the field's
    words count as easy guesses.

    Views set ``form.user_inputs`` (the account's email and name) when the form has no such fields.
    """
    inputs = list(getattr(form, "user_inputs", ()))
    for name in ("email", "name"):
        if name in form and form[name].data:
            inputs.append(str(form[name].data))
    practice = practice_settings()
    try:
        passwords.check_password_rules(field.data or "", inputs,
                                       practice_name=practice.name if practice is not None else None)
    except passwords.WeakPassword as exc:
        raise ValidationError(str(exc)) from None


def _phone(form: FlaskForm, field: Field) -> None:
    """E.164 for SMS notifications; a national number is read in the form's region (default US)."""
    raw = (field.data or "").strip()
    if not raw:
        field.data = None
        return
    try:
        number = phonenumbers.parse(raw, getattr(form, "region", "US"))
    except phonenumbers.NumberParseException:
        raise ValidationError("That is not a phone number.") from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError("That is not a phone number.")
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes instead of a multi-select: usable with a thumb."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=200)],
                        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class ResolveForm(FlaskForm):
    outcome = TextAreaField("Outcome", validators=[Length(max=OUTCOME_MAX)],
                            render_kw={"rows": 3, "placeholder": "What was done, e.g. called back, booked Tuesday"})
    # The one-tap outcome the text started from (set by its button); the audit log records which.
    preset = HiddenField(validators=[Optional(), AnyOf(list(OUTCOME_PRESETS), message="Choose one of the outcomes.")])


_ROLE_CHOICES = choices([(Role.STAFF.value, "Staff"), (Role.OWNER.value, "Owner")])


class StaffCreateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Email (their login)", validators=[DataRequired(), Length(max=200),
                                                          Regexp(_EMAIL_RE, message="That is not an email address.")],
                        render_kw={"autocomplete": "off", "autocapitalize": "none"})
    phone = StringField("Mobile for text alerts (optional)", validators=[Optional(), Length(max=30), _phone],
                        render_kw={"inputmode": "tel", "autocomplete": "off"})
    role = SelectField("Role", choices=_ROLE_CHOICES, default=Role.STAFF.value)
    password = PasswordField(f"First password (at least {passwords.MIN_LENGTH} characters)",
                             validators=[DataRequired(), _password_rules], render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Password again", validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class StaffEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Email (their login)", validators=[DataRequired(), Length(max=200),
                                                          Regexp(_EMAIL_RE, message="That is not an email address.")],
                        render_kw={"autocapitalize": "none"})
    phone = StringField("Mobile for text alerts (optional)", validators=[Optional(), Length(max=30), _phone],
                        render_kw={"inputmode": "tel"})
    role = SelectField("Role", choices=_ROLE_CHOICES)


class PasswordResetForm(FlaskForm):
    password = PasswordField(f"New password (at least {passwords.MIN_LENGTH} characters)",
                             validators=[DataRequired(), _password_rules], render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class OwnPasswordForm(PasswordResetForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})


class RosterForm(FlaskForm):
    user_id = SelectField("Who", coerce=int)
    level = SelectField("Level", coerce=int, choices=choices([(1, "1 – first to be told"), (2, "2 – backup"),
                                                              (3, "3 – owner / last resort")]))
    days = MultiCheckboxField("Days (none ticked: every day)", choices=choices((d, d[:3].title()) for d in WEEKDAYS))
    start = StringField("From", default="09:00", validators=[DataRequired(), Regexp(_TIME_RE, message="Use HH:MM.")],
                        render_kw={"type": "time"})
    end = StringField("Until", default="17:00", validators=[DataRequired(), Regexp(_TIME_RE, message="Use HH:MM.")],
                      render_kw={"type": "time"})
    categories = MultiCheckboxField("Told about (none ticked: everything)",
                                    choices=choices(CATEGORY_LABELS.items()))
    sms = BooleanField("Text message", default=True)
    email = BooleanField("Email", default=True)

    def validate_email(self, field: Field) -> None:
        if not field.data and not self.sms.data:
            raise ValidationError("Tick text message, email or both: otherwise nobody is told.")


def describe_categories(categories: Any) -> str:
    """``everything``, or ``Crisis, Voicemail``: what a roster entry is told about."""
    if not categories:
        return "everything"
    return ", ".join(CATEGORY_LABELS.get(c, c) for c in CATEGORY_LABELS if c in set(categories))


def describe_window(days: Any, start: str, end: str) -> str:
    """``Mon–Fri 09:00–17:00``, ``Every day, all day``: a roster entry's window in a few words."""
    chosen = [d for d in WEEKDAYS if d in {str(x).lower() for x in (days or ())}]
    if not chosen or len(chosen) == 7:
        day_text = "Every day"
    else:
        idx = [WEEKDAYS.index(d) for d in chosen]
        if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
            day_text = f"{chosen[0][:3].title()}–{chosen[-1][:3].title()}"
        else:
            day_text = ", ".join(d[:3].title() for d in chosen)
    if start == end or (start == "00:00" and end == "23:59"):
        return f"{day_text}, all day"
    overnight = " (overnight)" if start > end else ""
    return f"{day_text} {start}–{end}{overnight}"
