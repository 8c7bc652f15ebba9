"""The ledger: what was spent from which grant, on what, for whom. Append-only."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only, make_redactable
from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.grant import Grant
from funds.models.people import Household, YoungPerson
from funds.models.taxonomy import ItemType
from funds.models.user import User
from funds.money import Money, integer_check


class DeliveryMethod(enum.StrEnum):
    """How the support reached the person."""

    VOUCHER = "voucher"
    CASH_OUT_VOUCHER = "cash-out-voucher"
    BANK_TRANSFER = "bank-transfer"
    CASH = "cash"
    DIRECT_PURCHASE = "direct-purchase"
    BILL_PAYMENT = "bill-payment"
    ACTIVITY_PLACE = "activity-place"

    @property
    def label(self) -> str:
        return DELIVERY_LABELS[self]


DELIVERY_LABELS = {
    DeliveryMethod.VOUCHER: "Voucher",
    DeliveryMethod.CASH_OUT_VOUCHER: "Cash-out voucher (PayPoint, Post Office, ATM)",
    DeliveryMethod.BANK_TRANSFER: "Bank transfer",
    DeliveryMethod.DIRECT_PURCHASE: "Direct purchase",
    DeliveryMethod.BILL_PAYMENT: "Bill payment",
    DeliveryMethod.CASH: "Cash",
    DeliveryMethod.ACTIVITY_PLACE: "Activity place",
}

#: "Cash-first" (the Crisis and Resilience Fund): money the person can spend as they choose.
CASH_FIRST_METHODS = (
    DeliveryMethod.BANK_TRANSFER,
    DeliveryMethod.CASH,
    DeliveryMethod.CASH_OUT_VOUCHER,
)


class AccessRoute(enum.StrEnum):
    """How the person came to be helped."""

    APPLICATION = "application"
    PROACTIVE = "proactive"
    REFERRAL = "referral"
    #: For lines with no beneficiary (staff costs, running costs).
    NOT_APPLICABLE = "not-applicable"

    @property
    def label(self) -> str:
        return {
            "application": "Application",
            "proactive": "Proactive",
            "referral": "Referral",
            "not-applicable": "Not applicable (no beneficiary)",
        }[self]


class Disbursement(Base):
    """One ledger line. Never updated or deleted: a mistake gets a reversal row."""

    __tablename__ = "disbursements"
    __table_args__ = (
        integer_check("amount_pence"),
        # An award is positive; a reversal is the exact negative of the award it reverses.
        CheckConstraint(
            "(reverses_id IS NULL AND amount_pence > 0)"
            " OR (reverses_id IS NOT NULL AND amount_pence < 0)",
            name="sign_matches_kind",
        ),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "household_id IS NULL OR young_person_id IS NULL", name="one_beneficiary"
        ),
        Index("ix_disbursements_grant_date", "grant_id", "awarded_on", "id"),
        # Covers the per-grant sums (spend, spend by day and item, the dashboard and the
        # fund note) without reading the table's rows.
        Index(
            "ix_disbursements_grant_sums",
            "grant_id",
            "awarded_on",
            "amount_pence",
            "item_type_id",
        ),
        Index("ix_disbursements_date", "awarded_on", "id"),
        # A grant's awards above an amount (those that need evidence).
        Index("ix_disbursements_grant_amount", "grant_id", "amount_pence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id"), index=True
    )
    young_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("young_people.id"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=1)
    #: Pence: positive for an award, negative for a reversal.
    amount: Mapped[Decimal] = mapped_column("amount_pence", Money)
    #: The day the support was given (a reversal: the day the mistake was corrected).
    awarded_on: Mapped[date] = mapped_column(Date)
    supplier: Mapped[str | None] = mapped_column(String(120))
    delivery_method: Mapped[DeliveryMethod] = mapped_column(db_enum(DeliveryMethod))
    access_route: Mapped[AccessRoute | None] = mapped_column(db_enum(AccessRoute))
    #: The day the person asked for help, when known (days to payment are counted from it).
    requested_on: Mapped[date | None] = mapped_column(Date)
    #: Why it was not paid cash-first, where the funder expects cash-first.
    method_reason: Mapped[str | None] = mapped_column(Text)
    #: Invoice or receipt reference (evidence).
    evidence_reference: Mapped[str | None] = mapped_column(String(80))
    notes: Mapped[str | None] = mapped_column(Text)
    #: True when a manager confirmed spending past a ``warn`` control.
    overspend_confirmed: Mapped[bool] = mapped_column(default=False)
    #: The one-time token of the form that recorded this line (a resubmission is refused).
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: For a reversal: the award it cancels (at most one reversal each).
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("disbursements.id"), unique=True
    )
    #: For a reversal: why.
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when an erasure blanked the free text (LEDGER_REDACTABLE) of this line.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    grant: Mapped[Grant] = relationship()
    item_type: Mapped[ItemType] = relationship()
    household: Mapped[Household | None] = relationship()
    young_person: Mapped[YoungPerson | None] = relationship()
    created_by: Mapped[User] = relationship()
    reverses: Mapped[Disbursement | None] = relationship(
        remote_side="Disbursement.id", foreign_keys=[reverses_id]
    )

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class DisbursementPayment(Base):
    """Finance's record that an award was paid; the money row itself never changes."""

    __tablename__ = "disbursement_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    disbursement_id: Mapped[int] = mapped_column(
        ForeignKey("disbursements.id"), unique=True
    )
    paid_on: Mapped[date] = mapped_column(Date)
    payment_reference: Mapped[str] = mapped_column(String(80))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The payment run that paid it, when it was paid with others.
    payment_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_runs.id"), index=True
    )


#: Free text an erasure may blank on a person's awards; amounts, dates and links stay.
LEDGER_REDACTABLE = ["notes", "method_reason", "reason", "supplier"]
make_redactable(Disbursement.__table__, LEDGER_REDACTABLE)
make_append_only(DisbursementPayment.__table__)
