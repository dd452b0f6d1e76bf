"""Errors a port raises."""


class PortError(Exception):
    """An event the port's state does not allow (answering before caller ID is in, seizing a
    busy port, ringing a trunk). The port is left exactly as it was."""
