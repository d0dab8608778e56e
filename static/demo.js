// The demo page: one HubConnection per hub, built with the official @microsoft/signalr client.
//
// The rule from the seed: the page always assumes it is out of date. After every connect and
// reconnect it asks the server for the current state instead of trusting what it shows, and
// everything it shows comes from the server (written with textContent, never as HTML).
"use strict";

(() => {
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => Array.from(document.querySelectorAll(selector));

  const protocol = document.body.dataset.protocol === "messagepack" ? "messagepack" : "json";

  // Retry after 0.25 s, 0.5 s, 0.75 s ... then every 3 s; give up (onclose) after five minutes.
  const retryPolicy = {
    nextRetryDelayInMilliseconds: ({ previousRetryCount, elapsedMilliseconds }) =>
      elapsedMilliseconds > 5 * 60 * 1000 ? null : Math.min(250 * (previousRetryCount + 1), 3000),
  };

  function showError(error) {
    $("#error").textContent = error instanceof Error ? error.message : String(error);
  }

  // -- connection status: "connected" only when every hub is --------------------------------

  const states = new Map();

  function setState(path, state) {
    states.set(path, state);
    const all = Array.from(states.values());
    let status = "connected";
    if (all.includes("reconnecting")) status = "reconnecting";
    else if (all.some((value) => value !== "connected")) status = "disconnected";
    const element = $("#connection-status");
    element.textContent = status;
    element.dataset.status = status;
  }

  function delay(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
  }

  // A HubConnection for `path` with `handlers`; `sync` runs after every connect and reconnect.
  function hub(path, handlers, sync) {
    const builder = new signalR.HubConnectionBuilder()
      .withUrl(path)
      .withAutomaticReconnect(retryPolicy)
      .configureLogging(signalR.LogLevel.Warning);
    if (protocol === "messagepack") {
      builder.withHubProtocol(new signalR.protocols.msgpack.MessagePackHubProtocol());
    }
    const connection = builder.build();
    for (const [target, handler] of Object.entries(handlers)) connection.on(target, handler);
    const resync = () => Promise.resolve(sync(connection)).catch(showError);
    connection.onreconnecting(() => setState(path, "reconnecting"));
    connection.onreconnected(() => {
      setState(path, "connected");
      resync();
    });
    connection.onclose(() => setState(path, "disconnected"));
    setState(path, "disconnected");

    (async () => {
      // The first start has no automatic reconnect: try again until the server answers.
      for (;;) {
        try {
          await connection.start();
          break;
        } catch (error) {
          showError(error);
          await delay(2000);
        }
      }
      setState(path, "connected");
      resync();
    })();
    return connection;
  }

  // -- votes ----------------------------------------------------------------------------------

  function showVotes(votes) {
    const counts = $$("[data-count]").map((element) => Number(votes[element.dataset.count]) || 0);
    const most = Math.max(1, ...counts);
    $$("[data-count]").forEach((element, index) => {
      element.textContent = String(counts[index]);
      const bar = $(`[data-bar="${element.dataset.count}"]`);
      bar.style.width = `${(100 * counts[index]) / most}%`;
    });
  }

  function showViewCount(count) {
    $("#view-count").textContent = String(count);
  }

  const votes = hub(
    "/hubs/vote",
    { updateVotes: showVotes, updateViewCount: showViewCount },
    async (connection) => {
      showVotes(await connection.invoke("GetVotes"));
      showViewCount(await connection.invoke("GetViewCount"));
    },
  );

  for (const button of $$("[data-vote]")) {
    button.addEventListener("click", () => {
      votes.invoke("Vote", button.dataset.vote).catch(showError);
    });
  }

  // -- server time (pushed by the TimeService hosted service) --------------------------------

  function showTime(time) {
    $("#current-time").textContent = String(time);
  }

  hub("/hubs/time", { updateCurrentTime: showTime }, async (connection) => {
    showTime(await connection.invoke("GetCurrentTime"));
  });

  // -- background (admins only) -----------------------------------------------------------------

  function showBackground(color) {
    document.body.style.backgroundColor = color ? String(color) : "";
  }

  const background = hub(
    "/hubs/background",
    { changeBackground: showBackground },
    async (connection) => {
      showBackground(await connection.invoke("GetBackground"));
    },
  );

  $("#change-background").addEventListener("click", () => {
    background.invoke("ChangeBackground", $("#background-color").value).catch((error) => {
      showError(error);
      alert(error); // as the seed does: .then(..., error => alert(error))
    });
  });

  // -- groups and users -------------------------------------------------------------------------

  // The groups this page asked for; a reconnected connection is new to the server and joins
  // them again (group membership belongs to a connection, as in ASP.NET Core).
  const wantedGroups = new Set();

  function showGroups(groups) {
    $("#my-groups").textContent = groups.length ? groups.join(", ") : "none";
  }

  function showMessage(sender, audience, text) {
    const item = document.createElement("li");
    item.textContent = `${sender} to ${audience}: ${text}`;
    item.dataset.audience = String(audience);
    item.dataset.text = String(text);
    $("#messages").prepend(item);
  }

  const messages = hub("/hubs/messages", { receiveMessage: showMessage }, async (connection) => {
    for (const group of wantedGroups) await connection.invoke("JoinGroup", group);
    showGroups(await connection.invoke("GetMyGroups"));
  });

  for (const button of $$("[data-join]")) {
    button.addEventListener("click", () => {
      wantedGroups.add(button.dataset.join);
      messages.invoke("JoinGroup", button.dataset.join).then(showGroups, showError);
    });
  }
  for (const button of $$("[data-leave]")) {
    button.addEventListener("click", () => {
      wantedGroups.delete(button.dataset.leave);
      messages.invoke("LeaveGroup", button.dataset.leave).then(showGroups, showError);
    });
  }

  function sendMessage(method, target, description) {
    const text = $("#message-text").value;
    messages.invoke(method, target, text).then(() => {
      $("#message-status").textContent = `Sent "${text}" to ${description}.`;
    }, showError);
  }

  $("#send-to-group").addEventListener("click", () => {
    const group = $("#group-name").value;
    sendMessage("SendToGroup", group, `group ${group}`);
  });
  $("#send-to-others").addEventListener("click", () => {
    const group = $("#group-name").value;
    sendMessage("SendToOthersInGroup", group, `others in ${group}`);
  });
  $("#send-to-user").addEventListener("click", () => {
    const user = $("#user-name").value;
    sendMessage("SendToUser", user, `user ${user}`);
  });

  // -- stream -------------------------------------------------------------------------------------

  const stream = hub("/hubs/stream", {}, () => {});
  let subscription = null;

  function showStreamStatus(status) {
    $("#stream-status").textContent = status;
  }

  $("#stream-start").addEventListener("click", () => {
    if (subscription) subscription.dispose();
    $("#stream-lines").replaceChildren();
    showStreamStatus("streaming");
    const current = stream.stream("StreamFile").subscribe({
      next: (line) => {
        const item = document.createElement("li");
        item.textContent = String(line);
        $("#stream-lines").append(item);
      },
      complete: () => {
        if (subscription === current) subscription = null;
        showStreamStatus("complete");
      },
      error: (error) => {
        if (subscription === current) subscription = null;
        showStreamStatus("failed");
        showError(error);
      },
    });
    subscription = current;
  });

  $("#stream-stop").addEventListener("click", () => {
    if (!subscription) return;
    subscription.dispose(); // sends CancelInvocation: the server closes its generator
    subscription = null;
    showStreamStatus("stopped");
  });

  // -- protocol switch: reload the page with ?protocol=... -------------------------------------

  $("#protocol").addEventListener("change", (event) => event.target.form.submit());
})();
