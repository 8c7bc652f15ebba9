"""Signing in and out, first-run set-up, and changing your own password."""
