"""Flask-SocketIO 5.x under test, on gevent with simple-websocket (the same Flask app shape)."""

from gevent import monkey

monkey.patch_all()

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, emit  # noqa: E402

from bench.servers._common import arguments, raise_fd_limit  # noqa: E402


def create_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.secret_key = "bench-secret"
    socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False)

    @socketio.on("broadcast")
    def broadcast(payload: str) -> int:
        emit("send", payload, broadcast=True)
        return 1  # the ack (sent only when the client asked for one)

    @socketio.on("echo")
    def echo(x: str) -> str:
        return x

    return app, socketio


def main() -> None:
    args = arguments(__doc__)
    raise_fd_limit()
    app, socketio = create_app()
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
