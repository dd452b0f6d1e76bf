"""`ccbox load`: a site's traffic model driving the running appliance in real time, and the
simulation's prediction for the same compressed site set beside what the box measured."""
