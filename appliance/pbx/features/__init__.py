"""PBX features beside the ACD, each a clock-free core of its own: `park.py` (call park)."""
