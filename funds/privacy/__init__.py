"""Keeping and erasing records: retention rules, holds, erasure, subject access."""
