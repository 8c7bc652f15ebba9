"""Funders and their return categories, our spend categories and item types, teams."""
