"""Simulation refuses a site it cannot model, saying where: IVR exits to conference rooms,
routes to ring groups."""

from __future__ import annotations

import pytest

from sim.unsimulated import refuse_unsimulated
from tests.appliance.pbx.b2bua.test_ring_group_route import group_lab
from tests.appliance.pbx.ivr.test_callcontrol_ivr import ivr_site
from tests.appliance.pbx.ivr.test_callcontrol_room import room_site


def test_a_site_with_an_ivr_exit_to_a_room_is_refused_naming_the_exit() -> None:
    with pytest.raises(ValueError, match=r"ivr\.flows\[0\]\.nodes\[0\] to room 800.*no "
                                         r"conference mixer"):
        refuse_unsimulated(room_site())


def test_a_site_without_one_is_simulated() -> None:
    refuse_unsimulated(ivr_site())


def test_a_site_routing_callers_to_a_ring_group_is_refused_naming_the_route() -> None:
    site = group_lab(media=False).box.site
    with pytest.raises(ValueError, match=r"routes\[0\] to ring group 600.*phones answering"):
        refuse_unsimulated(site)
