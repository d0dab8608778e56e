"""flask-signalr under test: one hub with Broadcast and Echo, served by signalr.run()."""

from gevent import monkey

monkey.patch_all()

from flask import Flask  # noqa: E402

from bench.servers._common import arguments, raise_fd_limit  # noqa: E402
from flask_signalr import Hub, SignalR  # noqa: E402


def create_app(redis_url: str | None = None) -> tuple[Flask, SignalR]:
    app = Flask(__name__)
    app.secret_key = "bench-secret"  # the same on every node (signed tokens across Redis)
    options = {"redis_url": redis_url} if redis_url else {}
    signalr = SignalR(app, **options)

    @signalr.hub("/hub")
    class BenchHub(Hub):
        def broadcast(self, payload: str) -> None:
            self.clients.all.send("send", payload)

        def echo(self, x: str) -> str:
            return x

    return app, signalr


def set_nodelay_on_accept() -> None:
    """Experiment only: what the library would gain from TCP_NODELAY on its sockets."""
    import socket

    from gevent import pywsgi

    original = pywsgi.WSGIServer.handle

    def handle(self, sock, address):  # type: ignore[no-untyped-def]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return original(self, sock, address)

    pywsgi.WSGIServer.handle = handle


def main() -> None:
    args = arguments(__doc__)
    raise_fd_limit()
    if args.nodelay:
        set_nodelay_on_accept()
    app, signalr = create_app(args.redis)
    signalr.run(app, host=args.host, port=args.port, log=None)


if __name__ == "__main__":
    main()
