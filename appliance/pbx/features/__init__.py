"""Features beside the ACD, each a clock-free core of its own: `campaign` (outbound dialing)."""
