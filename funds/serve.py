"""``python -m funds.serve``: funds under waitress, set up like gunicorn (funds.gunicorn_conf),
with the background job worker beside it.

Both servers hand the ``X-Forwarded-*`` headers to the app, which trusts exactly
``FUNDS_PROXY_COUNT`` hops of them (werkzeug's ProxyFix): one rule, whichever server. Left
to itself, waitress removes those headers (it trusts no proxy), so every request behind a
proxy looked as if it came from the proxy: sign-in throttling then locked everyone out.
Neither server names itself in a ``Server`` header.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from waitress import serve

from funds import PROJECT_ROOT, create_app
from funds.heap import freeze_start_up_heap


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


def start_worker(app) -> subprocess.Popen | None:
    """The background job worker, beside the web server (one command starts both)."""
    if app.config.get("JOBS_IMMEDIATE"):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"],
        cwd=PROJECT_ROOT,
    )


def _stop(_signum, _frame):
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:5000", help="HOST:PORT")
    # Requests in one process share one interpreter lock: past 4 threads, each request
    # waits longer for it than it gains (20 clerks at 1,000,000 lines, README).
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="Do not start the job worker (run `flask --app app jobs worker` elsewhere).",
    )
    args = parser.parse_args(argv)
    app = create_app()
    freeze_start_up_heap()
    worker = None if args.no_worker else start_worker(app)
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(app, **server_options(app, args.listen, args.threads))
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


if __name__ == "__main__":
    main()
