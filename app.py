"""The flask-signalr demo: live votes, a server clock, an admin-only background, groups, users,
a file streamed line by line, JSON or MessagePack, on the official SignalR JavaScript client.

    python app.py [--host 127.0.0.1] [--port 5000] [--redis redis://localhost:6379/0]

``make run`` installs the dependencies (Python and npm) and runs it on http://127.0.0.1:5000.
"""

from gevent import monkey

monkey.patch_all()  # first, before anything else imports socket, ssl or threading

import argparse  # noqa: E402
import hmac  # noqa: E402
import logging  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import (  # noqa: E402
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue  # noqa: E402
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user  # noqa: E402

from flask_signalr import SignalR  # noqa: E402
from hubs import BackgroundHub, MessageHub, StreamHub, TimeHub, VoteHub  # noqa: E402
from hubs.message_hub import GROUPS  # noqa: E402
from services.state import OPTIONS, UnknownOptionError, check_option, demo_state, init_state  # noqa: E402
from services.time_service import TimeService  # noqa: E402

ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "node_modules"

#: The official browser bundles, installed by `npm ci` (package.json); nothing else is served
#: from node_modules, and nothing comes from a CDN.
VENDOR = {
    "signalr.min.js": "@microsoft/signalr/dist/browser/signalr.min.js",
    "signalr-protocol-msgpack.min.js": (
        "@microsoft/signalr-protocol-msgpack/dist/browser/signalr-protocol-msgpack.min.js"
    ),
}

#: FOR THIS DEMO ONLY: a fixed, public key, so a sign-in survives a server restart and works on
#: every instance of the demo. A real app keeps its key out of the source; FLASK_SECRET_KEY in
#: the environment replaces this one.
DEMO_SECRET_KEY = "flask-signalr-demo-only-this-is-not-a-secret"

logger = logging.getLogger("demo")


class User(UserMixin):  # type: ignore[misc]  # flask-login ships no type hints
    def __init__(self, name: str, password: str, roles: tuple[str, ...] = ()) -> None:
        self.id = name
        self.password = password
        self.roles = roles


#: Demo users (plain-text passwords: a demo, not an example of storing them).
USERS = {
    "kevin": User("kevin", "kevin"),
    "admin": User("admin", "admin", roles=("ADMIN",)),
}

signalr = SignalR()
signalr.map_hub("/hubs/vote", VoteHub)
signalr.map_hub("/hubs/time", TimeHub)
signalr.map_hub("/hubs/background", BackgroundHub)
signalr.map_hub("/hubs/messages", MessageHub)
signalr.map_hub("/hubs/stream", StreamHub)
signalr.add_hosted_service(TimeService)


def create_app(redis_url: str | None = None) -> Flask:
    """The demo app; ``redis_url`` becomes SignalR's ``redis_url`` and holds the vote tallies."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = DEMO_SECRET_KEY
    app.config.from_prefixed_env()  # e.g. FLASK_SIGNALR_REDIS_URL=redis://... under gunicorn
    if redis_url:
        app.config["SIGNALR_REDIS_URL"] = redis_url
    init_state(app, app.config.get("SIGNALR_REDIS_URL"))

    login_manager = LoginManager(app)
    login_manager.user_loader(USERS.get)

    @app.get("/")
    def index() -> ResponseReturnValue:
        protocol = "messagepack" if request.args.get("protocol") == "messagepack" else "json"
        return render_template(
            "index.html",
            options=OPTIONS,
            groups=GROUPS,
            protocol=protocol,
            user=current_user,
        )

    @app.post("/login")
    def login() -> ResponseReturnValue:
        user = USERS.get(request.form.get("username", ""))
        password = request.form.get("password", "")
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            flash("Wrong user name or password.")
        else:
            login_user(user)
        return redirect(_back_to_page())

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        return redirect(_back_to_page())

    @app.get("/api/votes")
    def get_votes() -> ResponseReturnValue:
        return jsonify(demo_state().votes.tallies())

    @app.post("/api/votes/<option>")
    def post_vote(option: str) -> ResponseReturnValue:
        """Vote from outside the hub: the same update reaches every page through hub_context."""
        try:
            votes = demo_state().votes.vote(check_option(option))
        except UnknownOptionError as error:
            return jsonify(error=str(error)), 404
        signalr.hub_context(VoteHub).clients.all.update_votes(votes)
        return jsonify(votes)

    @app.get("/vendor/<name>")
    def vendor(name: str) -> ResponseReturnValue:
        if name not in VENDOR:
            abort(404)
        return send_from_directory(NODE_MODULES, VENDOR[name])

    signalr.init_app(app)
    return app


def _back_to_page() -> str:
    """The page again, keeping its protocol choice."""
    if request.form.get("protocol") == "messagepack":
        return url_for("index", protocol="messagepack")
    return url_for("index")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The flask-signalr demo app.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="Redis for SignalR's backplane (redis_url) and the vote tallies, "
        "e.g. redis://127.0.0.1:6379/0",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    missing = [path for path in VENDOR.values() if not (NODE_MODULES / path).is_file()]
    if missing:
        logger.warning("Missing %s: run `npm ci` (or `make run`) first.", ", ".join(missing))
    app = create_app(args.redis)
    signalr.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
