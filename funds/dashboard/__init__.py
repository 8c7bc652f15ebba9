"""The dashboard: each open grant's money and forecast, and what needs doing."""
