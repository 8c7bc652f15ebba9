"""Funder returns: Excel workbooks built from the ledger, submission and period locks."""
