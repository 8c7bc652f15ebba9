"""What day it is for the charity: the one place every page, job and command asks.

A deployment may hold the day still with the ``FUNDS_TODAY`` setting (an ISO date), as
the tests do, so that a run which crosses midnight sees one day throughout.
"""

from datetime import date

from flask import current_app, has_app_context


def today() -> date:
    """Today's date, or the day the application's configuration holds still."""
    if has_app_context():
        held = current_app.config.get("TODAY")
        if held is not None:
            return held
    return date.today()
