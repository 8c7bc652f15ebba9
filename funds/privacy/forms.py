"""Forms for retention rules, holds, erasure and the due-for-review list."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length

from funds.models import RecordKind, RetentionEvent
from funds.privacy.holds import REASON_MAX
from funds.privacy.retention import EVENTS, MONTHS_MAX
from funds.validators import PlainText, Present, WholeNumberField, strip_text


def _reason(label: str, hint: str, missing: str) -> TextAreaField:
    return TextAreaField(
        label,
        widget=GovTextArea(),
        filters=[strip_text],
        description=hint,
        validators=[
            Present(missing),
            Length(
                max=REASON_MAX,
                message=f"Keep the reason to {REASON_MAX} characters or fewer",
            ),
            PlainText(multiline=True),
        ],
    )


class RuleForm(FlaskForm):
    """One kind of record's retention period."""

    months = WholeNumberField(
        "Months",
        low=0,
        high=MONTHS_MAX,
        message=f"Enter a whole number of months from 0 to {MONTHS_MAX}",
        validators=[Present(f"Enter a whole number of months from 0 to {MONTHS_MAX}")],
    )
    event = RadioField(
        "Counted from",
        widget=GovRadioInput(),
        validators=[InputRequired("Choose the event the period is counted from")],
    )

    def set_kind(self, kind: RecordKind) -> None:
        self.event.choices = [(e.value, e.label.capitalize()) for e in EVENTS[kind]]


def rule_form(kind: RecordKind, **kwargs) -> RuleForm:
    form = RuleForm(prefix=kind.value, **kwargs)
    form.set_kind(kind)
    return form


def event_of(form: RuleForm) -> RetentionEvent:
    return RetentionEvent(form.event.data)


class HoldForm(FlaskForm):
    """Place or release a hold."""

    reason = _reason(
        "Why?",
        "For example: complaint received 3 March 2026, reference C-114. "
        "Use references, not names.",
        "Give a reason",
    )


class EraseForm(FlaskForm):
    """Confirm an erasure."""

    reason = _reason(
        "Why are these details being erased?",
        "For example: request by email of 3 March 2026. Kept in the erasure log; "
        "use references, not names.",
        "Give a reason for the erasure",
    )


class ReviewForm(FlaskForm):
    """Tick the people and files to erase or remove."""

    people = SelectMultipleField("People", choices=[], validate_choice=False)
    files = SelectMultipleField("Evidence files", choices=[], validate_choice=False)
