"""One node of a cluster: the interop app with the Redis backplane.

`python node_app.py PORT REDIS_URL` serves it with signalr.run; gunicorn imports `app` with the
backplane URL in the REDIS_URL environment variable.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from apps import create_app  # noqa: E402

if __name__ == "__main__":
    app, signalr = create_app(redis_url=sys.argv[2])
    signalr.run(app, host="127.0.0.1", port=int(sys.argv[1]), log=None)
else:
    app, signalr = create_app(redis_url=os.environ["REDIS_URL"])
