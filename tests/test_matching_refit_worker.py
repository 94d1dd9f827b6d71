"""A real worker process killed in the middle of a refit: the previous model stays in use.

The refit's write of the new artefact is held back by a lock on ``model_artefacts``; the work
horse is killed while it waits (SIGKILL, as the out-of-memory killer would). Nothing is stored,
requests keep answering from the previous artefact, and the next change is refitted.
"""

import os
import signal
import time

from live_processes import start_worker, stop_worker
from test_jobs_worker import children, wait_for, writes_held
from test_matching_artefacts import ENERGY, INVOICES, REFIT, artefact_ids, edit, suggested_names

from matchmaker.directory.models import Profile
from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side


def test_a_refit_killed_mid_job_leaves_the_previous_model_in_use(
    app, client, make_profile, fit_model, tmp_path
):
    sme = make_profile(kind="sme", name="Stadtwerke", description=INVOICES)
    make_profile(kind="startup", name="BelegKI", description="KI liest Rechnungen und Belege.")
    make_profile(kind="startup", name="Prognosewerk", description=ENERGY)
    fit_model()
    first = artefact_ids()
    edit(sme, ENERGY)  # queues the refit; the worker starts once the lock is held
    (refit,) = [job for job in rq_side.queue(app).jobs if job.func_name == REFIT]
    sme_id = sme.id
    db.session.remove()  # no lock of ours in the way of the worker's reads
    settings = {"MATCHING_REFIT_DELAY": 0, "JOBS_HEARTBEAT_SECONDS": 1}
    worker = None
    try:
        with writes_held(app, "model_artefacts") as refit_waits:
            worker = start_worker(app, tmp_path / "worker.log", **settings)
            wait_for(lambda: rq_side.fetch(refit.id).get_status() == "started", "the refit")
            horse = wait_for(lambda: (children(worker.pid) or [None])[0], "the work horse")
            wait_for(refit_waits, "the refit to wait for its write")
            time.sleep(0.5)  # SQLite: let it fit and reach its write
            os.kill(horse, signal.SIGKILL)
            wait_for(lambda: not children(worker.pid), "the worker to reap its horse")
        assert artefact_ids() == first
        assert suggested_names(client, sme_id)[0] == "Prognosewerk"  # the edit, on the old model
        edit(db.session.get(Profile, sme_id), ENERGY + " Und Netzlast.")
        # the next change is refitted by the live worker
        wait_for(lambda: len(artefact_ids()) == 2, "the next refit")
        assert artefact_ids()[0] == first[0]
    finally:
        if worker is not None:
            stop_worker(worker)
