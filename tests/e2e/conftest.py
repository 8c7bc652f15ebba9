"""End-to-end fixtures: the app served on 127.0.0.1 in a thread, Debian's Chromium, axe-core."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from funds import create_app
from funds.extensions import db
from tests.conftest import make_config, reset_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if CHROMIUM is None:
                item.add_marker(
                    pytest.mark.skip(reason="Debian's chromium is not installed")
                )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def live_config() -> dict:
    """More configuration for the served app (a test module may override this)."""
    return {}


@pytest.fixture
def live_app(tmp_path, live_config):
    """The real app (CSRF on, real hashing costs kept low) on a file SQLite database."""
    database = tmp_path / "e2e.sqlite"
    url = make_config()["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        url = f"sqlite:///{database}"
    app = create_app(
        make_config(
            SQLALCHEMY_DATABASE_URI=url,
            WTF_CSRF_ENABLED=True,
            RATELIMIT_ENABLED=True,
            **live_config,
        ),
        instance_path=str(tmp_path / "instance"),
    )
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def server_url(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def axe_check():
    """Run axe-core on the page; fail on any serious or critical violation."""
    script = AXE.read_text(encoding="utf-8")
    results: list[dict] = []

    def _check(page, name: str) -> list[dict]:
        # Injected through DevTools, not a <script> tag, which our CSP rightly blocks.
        page.evaluate(script + "\n;undefined")
        violations = page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}}
            )).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
        )
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        results.append({"page": name, "violations": violations})
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert not bad, f"{name}: {json.dumps(bad, indent=1)}"
        return violations

    yield _check
    if results:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "axe-results.json").write_text(json.dumps(results, indent=1))
