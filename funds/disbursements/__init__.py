"""The ledger: recording awards, reversing mistakes, marking payments."""
