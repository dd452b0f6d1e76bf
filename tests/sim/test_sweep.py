"""Sweeps on Dask give the same figures as the single-process path for the same seeds."""

from __future__ import annotations

import pytest

from appliance.config import resolve_site
from sim.sweep import grid, run_locally, run_on_dask, scaled


def test_a_scaled_site_offers_proportionally_more_calls():
    site = resolve_site("small")
    assert scaled(site, 1.5).traffic.profile == tuple(1.5 * r for r in site.traffic.profile)
    assert scaled(site, 1.0) is site


@pytest.mark.slow
def test_a_sweep_on_a_local_dask_cluster_equals_the_single_process_result():
    sites = [resolve_site("small"), resolve_site("digital")]
    runs = grid(sites, scales=[0.8, 1.2], replications=2, hours=1.0, seed=7)
    done: list[int] = []
    on_dask = run_on_dask(runs, workers=2, on_done=done.append)
    here = run_locally(runs)
    assert done[-1] == len(runs) == 8
    assert [(r.site, r.scale) for r in on_dask] == [(r.site, r.scale) for r in here]
    for ours, theirs in zip(on_dask, here, strict=True):
        assert [report.to_dict() for report in ours.reports] == [
            report.to_dict() for report in theirs.reports]
    # The scenarios differ as they should: more load, more calls.
    small = {r.scale: r.summary()["offered"]["mean"] for r in here if r.site == sites[0].site}
    assert small[1.2] > small[0.8]
