"""`ccbox load`: a site's callers and agents driving a running appliance in real time."""
