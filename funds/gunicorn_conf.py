"""gunicorn settings for funds: ``gunicorn -c python:funds.gunicorn_conf 'app:create_app()'``.

gunicorn passes ``X-Forwarded-*`` headers to the app as they came, and the app trusts
exactly ``FUNDS_PROXY_COUNT`` hops of them (werkzeug's ProxyFix), as under waitress
(funds.serve). gunicorn writes ``Server: gunicorn`` itself with no setting to stop it, so
its response class is given one that leaves that header out.
"""

from __future__ import annotations

import os

from gunicorn.http import wsgi

from funds.heap import freeze_start_up_heap

bind = os.environ.get("FUNDS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FUNDS_WORKERS", "2"))
control_socket_disable = True


class _Response(wsgi.Response):
    """gunicorn's response, without the Server header."""

    def default_headers(self):
        return [h for h in super().default_headers() if not h.startswith("Server:")]


wsgi.Response = _Response


def post_worker_init(_worker) -> None:
    """Each worker, once it has made the app, sets its start-up heap aside (funds.heap)."""
    freeze_start_up_heap()
