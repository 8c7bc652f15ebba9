"""The hand-off to the accounts: accounting import files, the ledger export and the
reconciliation of a grant's spending with what the accounts show."""
