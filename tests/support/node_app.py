"""One node of a cluster: the interop app with the Redis backplane and a singleton service.

`python node_app.py PORT REDIS_URL` serves it with signalr.run; gunicorn imports `app` with the
backplane URL in the REDIS_URL environment variable.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from apps import create_app  # noqa: E402

from flask_signalr import HostedService  # noqa: E402

NODE = os.environ.get("NODE_NAME") or (sys.argv[1] if __name__ == "__main__" else "gunicorn")


class Heartbeat(HostedService):
    """Runs on one node of the cluster at a time; says which."""

    interval = 0.2
    lease_seconds = 1.0

    def tick(self) -> None:
        self.hub_context("/hubs/test").clients.all.send("Heartbeat", NODE)


if __name__ == "__main__":
    app, signalr = create_app(redis_url=sys.argv[2])
    signalr.add_hosted_service(Heartbeat, singleton=True)
    signalr.run(app, host="127.0.0.1", port=int(sys.argv[1]), log=None)
else:
    app, signalr = create_app(redis_url=os.environ["REDIS_URL"])
    signalr.add_hosted_service(Heartbeat, singleton=True)
