"""Both servers set the start-up heap aside from the garbage collector once the app is
made (funds.heap), so a full collection under load does not walk it again."""

from __future__ import annotations

import gc

import pytest

import funds.gunicorn_conf
import funds.serve


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector


def test_waitress_freezes_the_heap_after_making_the_app(app, monkeypatch, unfrozen):
    seen = {}

    def make_app():
        seen["frozen when made"] = gc.get_freeze_count()
        return app

    def serve(served, **options):
        seen["served"] = served
        seen["frozen when serving"] = gc.get_freeze_count()

    monkeypatch.setattr(funds.serve, "create_app", make_app)
    monkeypatch.setattr(funds.serve, "serve", serve)
    monkeypatch.setattr(funds.serve.signal, "signal", lambda *args: None)
    funds.serve.main(["--no-worker", "--listen=127.0.0.1:0"])
    assert seen["served"] is app
    assert seen["frozen when made"] == 0
    assert seen["frozen when serving"] > 10_000


def test_each_gunicorn_worker_freezes_its_heap(unfrozen):
    assert gc.get_freeze_count() == 0
    funds.gunicorn_conf.post_worker_init(None)
    assert gc.get_freeze_count() > 10_000
