"""Sizing for sales: agents and trunks per interval by the sources' rule, by Erlang B, C and A,
and by simulating the appliance's own code; shift plans over the answers."""
