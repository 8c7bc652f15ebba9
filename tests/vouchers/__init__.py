"""Voucher stock: serials, uploaded files, services, pages and races."""
