"""Pages for disbursements."""

from flask import Blueprint

bp = Blueprint("disbursements", __name__)
