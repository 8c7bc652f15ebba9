"""Payment runs: finance pays many awards at once, on one date under one reference."""
