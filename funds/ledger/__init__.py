"""The ledger's own rollups: checking them against the lines they sum."""
