"""Households and young people."""
