from support.js import JsDriver
from support.server import RunningServer


def test_official_client_invokes_and_receives(server: RunningServer, js: JsDriver) -> None:
    client = js.connect(server.hub_url("/hubs/test"), handlers=("Receive",))
    assert client.invoke("Add", 2, 3) == 5
    client.invoke("SendAll", "hello")
    assert client.next_message("Receive") == ["all", "hello"]
    client.stop()
