"""Vouchers bought in bulk and handed out one by one."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.disbursement import Disbursement
from funds.models.grant import Grant
from funds.money import Money, money_checks


class VoucherStatus(enum.StrEnum):
    """Where a voucher is: every voucher bought is in exactly one of these."""

    IN_STOCK = "in-stock"
    ISSUED = "issued"
    RETURNED = "returned"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {
            "in-stock": "In stock",
            "issued": "Issued",
            "returned": "Returned",
            "expired": "Expired",
        }[self]


class VoucherBatch(Base):
    """Vouchers bought together from one supplier with one grant's money."""

    __tablename__ = "voucher_batches"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("expires_on >= purchased_on", name="expiry_after_purchase"),
        *money_checks("face_value_pence", positive=True),
        *money_checks("purchase_cost_pence", non_negative=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    #: What the vouchers are for, e.g. a supermarket or a school-uniform shop.
    supplier: Mapped[str] = mapped_column(String(120))
    #: The item type an issued voucher is recorded as (e.g. Food voucher).
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    face_value: Mapped[Decimal] = mapped_column("face_value_pence", Money)
    quantity: Mapped[int]
    purchase_cost: Mapped[Decimal] = mapped_column("purchase_cost_pence", Money)
    purchased_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    sale_or_return: Mapped[bool] = mapped_column(default=False)
    terms: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(80))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grant: Mapped[Grant] = relationship()
    vouchers: Mapped[list[Voucher]] = relationship(
        back_populates="batch", order_by="Voucher.serial"
    )


class Voucher(Base):
    """One voucher, identified by the supplier's serial number."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("supplier", "serial"),
        Index("ix_vouchers_batch_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("voucher_batches.id"))
    #: Copied from the batch so that a serial is unique per supplier.
    supplier: Mapped[str] = mapped_column(String(120))
    serial: Mapped[str] = mapped_column(String(64))
    status: Mapped[VoucherStatus] = mapped_column(
        db_enum(VoucherStatus), default=VoucherStatus.IN_STOCK
    )
    #: The award that issued it (at face value); set once, never reused.
    disbursement_id: Mapped[int | None] = mapped_column(
        ForeignKey("disbursements.id"), unique=True
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[VoucherBatch] = relationship(back_populates="vouchers")
    disbursement: Mapped[Disbursement | None] = relationship()
