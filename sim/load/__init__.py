"""`ccbox load`: a site's callers and agents driving a running appliance in real time (the
simulation's own models, on real sockets), and the simulation's prediction for the same
compressed site set beside what the box measured."""
