"""The IVR interpreter: one `FlowRun` per call walks the site's flows (`appliance.config.ivr`),
sans-I/O and clock-free; a `Farewell` plays a route's closed prompt before the hang-up."""

from appliance.pbx.ivr.farewell import Farewell
from appliance.pbx.ivr.run import FlowRun, PromptSeconds, Speaker

__all__ = ["Farewell", "FlowRun", "PromptSeconds", "Speaker"]
