"""The supplier of a ledger line as it may be shared outside the charity (the accounts
export, the evidence pack): the one home of that rule."""

from __future__ import annotations

from sqlalchemy import case

from funds.models import Disbursement
from funds.models.disbursement import CASH_FIRST_METHODS


def supplier_for_sharing(line=Disbursement):
    """SQL: the line's supplier, or NULL for money paid to the person helped (cash, bank
    transfer, cash-out voucher), where the "supplier" box may hold that person's name."""
    return case(
        (line.delivery_method.in_(CASH_FIRST_METHODS), None),
        else_=line.supplier,
    )
