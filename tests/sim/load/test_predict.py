"""``predict``: the simulation's figures for a compressed site, pooled over replications."""

from __future__ import annotations

import pytest

from appliance.config.loader import builtin_site_path, load_site
from appliance.kpi.replications import summarize
from sim.experiment import Experiment, run_replications
from sim.load.compress import compress
from sim.load.predict import predict

FAST_SMALL = compress(load_site(builtin_site_path("small")), 10)


def test_two_minutes_of_the_small_site_ten_times_faster() -> None:
    prediction = predict(FAST_SMALL, 2, seed=7, replications=3, workers=1)
    summary = prediction.summary
    assert (prediction.minutes, prediction.seed, summary.replications) == (2, 7, 3)
    assert summary["center.offered"].mean == pytest.approx(16 / 3)
    assert summary["center.blocked"].mean == 0
    assert summary["center.service_level"].mean == 1.0
    assert summary["center.offered"].half_width == pytest.approx(3.7945830335967594)
    assert summary.settings.interval == 180  # the compressed site's 3-minute intervals


def test_the_prediction_pools_the_experiments_replications() -> None:
    prediction = predict(FAST_SMALL, 2, seed=3, replications=2, workers=1)
    reports = run_replications(Experiment(FAST_SMALL, hours=2 / 60, seed=3), 2, workers=1)
    assert prediction.summary == summarize(reports)
    assert prediction.to_dict()["figures"]["center.offered"] == summarize(
        reports)["center.offered"].to_dict()


def test_nothing_to_predict_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one replication"):
        predict(FAST_SMALL, 2, seed=1, replications=0)
    no_traffic = FAST_SMALL.model_copy(update={"traffic": None})
    with pytest.raises(ValueError, match="no traffic"):
        predict(no_traffic, 2, seed=1, replications=1)
