"""Pages for taxonomy."""

from flask import Blueprint

bp = Blueprint("taxonomy", __name__)
