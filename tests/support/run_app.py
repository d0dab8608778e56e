"""A small app served the way users serve theirs: `python run_app.py PORT` or gunicorn."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402

from flask import Flask  # noqa: E402

from flask_signalr import HostedService, Hub, SignalR  # noqa: E402

app = Flask(__name__)
signalr = SignalR(app)


@signalr.hub("/hubs/clock")
class ClockHub(Hub):
    def add(self, a: int, b: int) -> int:
        return a + b


class Clock(HostedService):
    interval = 0.1

    def tick(self) -> None:
        self.hub_context(ClockHub).clients.all.send("tick", time.time())
        print("tick", flush=True)

    def stop(self) -> None:
        super().stop()
        print("stopped", flush=True)


signalr.add_hosted_service(Clock)

if __name__ == "__main__":
    signalr.run(app, host="127.0.0.1", port=int(sys.argv[1]), log=None)
