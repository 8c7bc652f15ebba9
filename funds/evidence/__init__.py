"""Evidence files: receipts, invoices and agreements attached to ledger records."""
