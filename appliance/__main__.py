"""``python -m appliance`` is the ``ccbox`` command."""

from appliance.cli import main

main()
