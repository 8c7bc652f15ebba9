"""The signed-in home page: the dashboard."""

from flask import Blueprint

from funds.dashboard.views import home

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    return home()
