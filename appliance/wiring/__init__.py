"""A site's gateway wiring as a technician checks it before the box goes live: each gateway's
ports in blocks (what each serves, unused ones too) and the trunk groups they carry
(`blocks.py`), printed by `ccbox check` as tables (`tables.py`)."""

from .blocks import PortBlock, group_ports, port_blocks
from .tables import wiring_tables

__all__ = ["PortBlock", "group_ports", "port_blocks", "wiring_tables"]
