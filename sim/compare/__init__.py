"""`ccbox compare`: one site on different trunk hardware, side by side, with intervals."""
