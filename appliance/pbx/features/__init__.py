"""PBX features beside the ACD, each a clock-free core of its own: `park.py` and
`parking.py` (call park), `pickup.py` (call pickup), `campaign.py` (outbound dialing),
`ringgroup.py` (a call's hunt through a ring group)."""
