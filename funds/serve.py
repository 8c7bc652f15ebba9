"""``python -m funds.serve``: funds under waitress, set up like gunicorn (funds.gunicorn_conf).

Both servers hand the ``X-Forwarded-*`` headers to the app, which trusts exactly
``FUNDS_PROXY_COUNT`` hops of them (werkzeug's ProxyFix): one rule, whichever server. Left
to itself, waitress removes those headers (it trusts no proxy), so every request behind a
proxy looked as if it came from the proxy: sign-in throttling then locked everyone out.
Neither server names itself in a ``Server`` header.
"""

from __future__ import annotations

import argparse

from waitress import serve

from funds import create_app


def server_options(app, listen: str, threads: int) -> dict:
    """waitress's options for this app."""
    options = {
        "listen": listen,
        "threads": threads,
        "ident": "",  # no "Server: waitress" header
    }
    if int(app.config.get("PROXY_COUNT") or 0):
        # Pass the proxy's headers to ProxyFix, which counts the hops it trusts.
        options["clear_untrusted_proxy_headers"] = False
    return options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:5000", help="HOST:PORT")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    app = create_app()
    serve(app, **server_options(app, args.listen, args.threads))


if __name__ == "__main__":
    main()
