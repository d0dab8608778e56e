// Remote control for the official @microsoft/signalr client, driven by the Python tests.
//
// Reads one JSON command per line on stdin and answers with one JSON line on stdout:
//   {"id": 7, "ok": true, "result": ...}  or  {"id": 7, "ok": false, "error": "message"}
// and reports what happens on connections as event lines:
//   {"event": "message", "conn": "c1", "target": "ReceiveMessage", "args": [...]}
//   {"event": "close" | "reconnecting" | "reconnected" | "log" | "stream-item" | "stream-end", ...}
// One process hosts many connections, each named by the test ("conn").
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(import.meta.url);
const signalR = require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

const connections = new Map();
const streams = new Map();
const uploads = new Map();

function emit(obj) {
  process.stdout.write(JSON.stringify(obj, (key, value) => encodeValue(value)) + "\n");
}

// MessagePack hands out Uint8Array and Date; carry their types across the JSON pipe.
function encodeValue(value) {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (value instanceof Date) return { $date: value.toISOString() };
  return value;
}

function decodeValue(value) {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value && typeof value === "object") {
    if ("$bytes" in value) return new Uint8Array(Buffer.from(value.$bytes, "base64"));
    if ("$date" in value) return new Date(value.$date);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeValue(v)]));
  }
  return value;
}

class Logger {
  constructor(conn) { this.conn = conn; }
  log(level, message) {
    if (level >= signalR.LogLevel.Warning) {
      emit({ event: "log", conn: this.conn, level: signalR.LogLevel[level], message });
    }
  }
}

const transports = {
  WebSockets: signalR.HttpTransportType.WebSockets,
  ServerSentEvents: signalR.HttpTransportType.ServerSentEvents,
  LongPolling: signalR.HttpTransportType.LongPolling,
};

function handlerFor(conn, target, results) {
  return (...args) => {
    emit({ event: "message", conn, target, args });
    if (results && target in results) {
      const answer = results[target];
      if (answer && answer.$throw) throw new Error(answer.$throw);
      if (answer && answer.$delay !== undefined) {
        return new Promise((resolve) => setTimeout(() => resolve(decodeValue(answer.value)), answer.$delay));
      }
      return decodeValue(answer);
    }
    return undefined;
  };
}

const ops = {
  async connect(cmd) {
    const options = {};
    if (cmd.transport) options.transport = transports[cmd.transport];
    if (cmd.skipNegotiation) options.skipNegotiation = true;
    if (cmd.accessToken) options.accessTokenFactory = () => cmd.accessToken;
    if (cmd.headers) options.headers = cmd.headers;
    let builder = new signalR.HubConnectionBuilder()
      .withUrl(cmd.url, options)
      .configureLogging(new Logger(cmd.conn));
    if (cmd.protocol === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
    if (cmd.reconnect) {
      builder = Array.isArray(cmd.reconnect)
        ? builder.withAutomaticReconnect(cmd.reconnect)
        : builder.withAutomaticReconnect();
    }
    if (cmd.serverTimeout) builder = builder.withServerTimeout(cmd.serverTimeout);
    if (cmd.keepAlive) builder = builder.withKeepAliveInterval(cmd.keepAlive);
    if (cmd.statefulReconnect) builder = builder.withStatefulReconnect();
    const connection = builder.build();
    const conn = cmd.conn;
    for (const target of cmd.handlers || []) connection.on(target, handlerFor(conn, target, cmd.results));
    connection.onclose((error) => emit({ event: "close", conn, error: error ? String(error.message || error) : null }));
    connection.onreconnecting((error) => emit({ event: "reconnecting", conn, error: error ? String(error.message || error) : null }));
    connection.onreconnected((connectionId) => emit({ event: "reconnected", conn, connectionId }));
    connections.set(conn, connection);
    await connection.start();
    return connection.connectionId;
  },
  async on(cmd) {
    connections.get(cmd.conn).on(cmd.target, handlerFor(cmd.conn, cmd.target, cmd.results));
    return null;
  },
  async off(cmd) {
    connections.get(cmd.conn).off(cmd.target);
    return null;
  },
  async invoke(cmd) {
    return await connections.get(cmd.conn).invoke(cmd.method, ...decodeValue(cmd.args));
  },
  async send(cmd) {
    await connections.get(cmd.conn).send(cmd.method, ...decodeValue(cmd.args));
    return null;
  },
  async stream(cmd) {
    const subscription = connections.get(cmd.conn).stream(cmd.method, ...decodeValue(cmd.args)).subscribe({
      next: (item) => emit({ event: "stream-item", conn: cmd.conn, stream: cmd.stream, item }),
      complete: () => emit({ event: "stream-end", conn: cmd.conn, stream: cmd.stream, error: null }),
      error: (err) => emit({ event: "stream-end", conn: cmd.conn, stream: cmd.stream, error: String(err.message || err) }),
    });
    streams.set(cmd.stream, subscription);
    return null;
  },
  async cancel(cmd) {
    streams.get(cmd.stream).dispose();
    return null;
  },
  // Start an invocation whose arguments include a client-to-server stream (a Subject).
  async upload(cmd) {
    const subject = new signalR.Subject();
    uploads.set(cmd.upload, subject);
    const args = decodeValue(cmd.args).map((a) => (a && a.$subject ? subject : a));
    const call = cmd.kind === "send"
      ? connections.get(cmd.conn).send(cmd.method, ...args)
      : connections.get(cmd.conn).invoke(cmd.method, ...args);
    call.then(
      (result) => emit({ event: "upload-result", conn: cmd.conn, upload: cmd.upload, result: result ?? null }),
      (err) => emit({ event: "upload-result", conn: cmd.conn, upload: cmd.upload, error: String(err.message || err) }),
    );
    return null;
  },
  async uploadNext(cmd) { uploads.get(cmd.upload).next(decodeValue(cmd.item)); return null; },
  async uploadComplete(cmd) { uploads.get(cmd.upload).complete(); return null; },
  async uploadError(cmd) { uploads.get(cmd.upload).error(new Error(cmd.error)); return null; },
  async state(cmd) {
    const c = connections.get(cmd.conn);
    return { state: c.state, connectionId: c.connectionId };
  },
  async stop(cmd) {
    const c = connections.get(cmd.conn);
    if (c) await c.stop();
    return null;
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    emit({ event: "driver-error", error: String(err) });
    return;
  }
  try {
    const result = await ops[cmd.op](cmd);
    emit({ id: cmd.id, ok: true, result: result === undefined ? null : result });
  } catch (err) {
    emit({ id: cmd.id, ok: false, error: String(err && err.message ? err.message : err) });
  }
});
rl.on("close", async () => {
  for (const c of connections.values()) {
    try { await c.stop(); } catch { /* already gone */ }
  }
  process.exit(0);
});
