"""Voucher stock: batches bought from a grant, issued one by one, reconciled."""
