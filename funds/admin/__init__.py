"""User administration and the audit trail, for administrators."""
