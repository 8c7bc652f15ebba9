"""Money in and between funds: receipts from the funder, the expected schedule, transfers
between funds, and the fund movement table (Charities SORP fund note)."""
