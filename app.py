"""Entry point: ``flask --app app run`` or ``waitress-serve --call app:create_app``."""

from funds import create_app

app = create_app()
