"""Grants: the overview, a grant's page, setting up grants, totals and budget lines."""
