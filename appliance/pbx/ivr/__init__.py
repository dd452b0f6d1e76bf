"""The IVR interpreter: one `FlowRun` per call walks the site's flows (`appliance.config.ivr`),
sans-I/O and clock-free."""

from appliance.pbx.ivr.run import FlowRun, PromptSeconds, Speaker

__all__ = ["FlowRun", "PromptSeconds", "Speaker"]
