"""The in-process test client in a process that never monkey-patches (as a user's pytest run)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for support.apps

from flask_signalr.testing import HubTestClient

from support.apps import USERS, create_app

app, signalr = create_app()
client = HubTestClient(app, "/hubs/test", user=USERS["kevin"])
report = {
    "patched": socket.socket.__module__ != "socket",
    "add": client.invoke("Add", 2, 3),
}
client.invoke("SendCaller", "hi")
report["received"] = client.received
report["stream"] = list(client.stream("Counter", 3, 0.01))
report["whoami"] = client.invoke("Whoami")["userIdentifier"]
client.close()
print(json.dumps(report))
