// PageCode (see pagecode.py): runs the learner's JavaScript in this page, the browser
// page that shows the notebook, and shows what it logs. The code is the body of an async
// function that sees `url`, `log`, `WebSocket` and `io`. Everything is set as text:
// what a server sends is data, never markup.

const AsyncFunction = (async () => {}).constructor;
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "::1"];
let socketio = null; // the socket.io client module, imported once per page

// One value as log() writes it: strings as they are, binary by its size, the rest as JSON.
function shown(value) {
  if (typeof value === "string") return value;
  if (value instanceof Blob) return `<${value.size} bytes>`;
  if (value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}

// Where in the learner's code an error happened, from its stack (Chromium and Firefox
// name the code by its sourceURL); the function's header takes 2 lines before it.
function where(error, marker) {
  const match = String(error && error.stack).match(new RegExp(`${marker}:(\\d+):\\d+`));
  return match ? ` (line ${Number(match[1]) - 2} of your JavaScript)` : "";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export default {
  render({ model, el }) {
    el.classList.add("chatkit-page");
    const columns = element("div", "chatkit-page-columns");
    const mine = element("div", "chatkit-page-column");
    const title = element("div", "chatkit-page-title");
    const lines = element("ol", "chatkit-page-log");
    lines.setAttribute("role", "log");
    const note = element("p", "chatkit-page-note");
    note.setAttribute("role", "status");
    note.hidden = true;
    mine.append(title, lines);
    columns.append(mine);
    el.append(columns, note);

    const beside = model.get("beside");
    if (beside.length) {
      const other = element("div", "chatkit-page-column chatkit-page-beside");
      const list = element("ol", "chatkit-page-log");
      list.append(...beside.map((line) => element("li", "", line)));
      other.append(element("div", "chatkit-page-title", "Python, in the kernel"), list);
      columns.append(other);
    }

    const page = window.location.origin;
    model.send({ type: "origin", text: page });
    const sentences = new Set();
    const say = (sentence) => {  // each sentence once, however often it happens
      if (sentences.has(sentence)) return;
      sentences.add(sentence);
      note.hidden = false;
      note.append(element("span", "", sentence));
      model.send({ type: "problem", text: sentence });
    };
    const log = (...values) => {
      const line = values.map(shown).join(" ");
      lines.append(element("li", "", line));
      model.send({ type: "event", text: line });
    };

    const url = model.get("url");
    const target = new URL(url);
    const unreachable = (address) => `The page could not connect to ${address}. This code ` +
      "runs in your browser, so the address must be one the browser can reach: 127.0.0.1 " +
      "is the computer the browser runs on, which is the kernel's only when Jupyter runs " +
      "there too (as with make lab), not on a remote JupyterHub.";
    if (LOOPBACK.includes(target.hostname) && !LOOPBACK.includes(window.location.hostname)) {
      say(`This page comes from ${window.location.host}, but ${url} is on the computer ` +
          "the browser runs on: the kernel's server is probably not there.");
    }

    // The sockets the code opens, closed when the widget goes.
    const opened = [];
    class PageWebSocket extends WebSocket {
      constructor(address, ...options) {
        super(address, ...options);
        opened.push(this);
        let open = false;
        this.addEventListener("open", () => { open = true; });
        // A browser does not tell the page why (its console does): say what it can be.
        this.addEventListener("error", () => {
          if (!open) {
            say(`${unreachable(address)} Or the server refused the handshake: this ` +
                `page's origin (${page}), or the subprotocols offered.`);
          }
        });
      }
    }
    const io = (address, ...options) => {
      const socket = socketio.io(address, ...options);
      opened.push(socket);
      socket.on("connect_error", (error) => {
        // A refusal by the server comes in a packet, with `data`; a failed transport
        // (nothing there, or the origin refused with HTTP 400) does not.
        if ("data" in error) {
          const why = error.message || "it gave no reason";
          say(`The server refused the connection: ${why}${/[.!?]$/.test(why) ? "" : "."}`);
        } else {
          say(`${unreachable(address ?? page)} Or the server refused this page's origin, ` +
              `${page}: python-socketio accepts only its own pages unless its ` +
              "cors_allowed_origins says otherwise.");
        }
      });
      return socket;
    };

    const marker = `chatkit-page-${Math.random().toString(36).slice(2)}.js`;
    const reported = (error) => {
      if (String(error && error.stack).includes(marker)) {
        say(`Your JavaScript failed${where(error, marker)}: ${shown(error)}`);
        return true;
      }
      return false;
    };
    // Errors in the code's handlers (onmessage, socket.on...) reach the window, not us.
    const onError = (event) => { if (reported(event.error)) event.preventDefault(); };
    const onRejection = (event) => { if (reported(event.reason)) event.preventDefault(); };
    window.addEventListener("error", onError);
    window.addEventListener("unhandledrejection", onRejection);

    let gone = false;
    const run = async () => {
      const code = model.get("code");
      title.textContent = `${model.get("title")} (${page})`;
      if (/\bio\b/.test(code) && socketio === null) {
        const source = await new Promise((resolve) => {
          const answer = (msg) => {
            if (msg.type !== "io") return;
            model.off("msg:custom", answer);
            resolve(msg.source);
          };
          model.on("msg:custom", answer);
          model.send({ type: "io" });
        });
        const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
        try {
          socketio = await import(/* webpackIgnore: true */ blob);
        } finally {
          URL.revokeObjectURL(blob);
        }
      }
      if (gone) return;
      let body;
      try {
        body = new AsyncFunction("url", "log", "WebSocket", "io",
                                 `${code}\n//# sourceURL=${marker}`);
      } catch (error) {
        say(`Your JavaScript did not run: ${shown(error)}`);
        return;
      }
      try {
        await body(url, log, PageWebSocket, io);
      } catch (error) {
        say(`Your JavaScript failed${where(error, marker)}: ${shown(error)}`);
      }
    };
    run().catch((error) => say(`The page could not start your JavaScript: ${shown(error)}`));

    return () => {
      gone = true;
      window.removeEventListener("error", onError);
      window.removeEventListener("unhandledrejection", onRejection);
      for (const socket of opened) {
        if (socket instanceof WebSocket) socket.close(1000, "the widget was removed");
        else socket.disconnect();
      }
    };
  },
};
