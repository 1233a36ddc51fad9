// The teacher's page: the join link and its QR code for the projector, the rooms and who
// is in them (live), and kick, mute and announce. It speaks the teacher's part of the
// protocol (docs/protocol.md, "The teacher's namespace /teacher") through the official
// socket.io client that the chat server serves itself (/static/vendor/socket.io.min.js).
//
// Two rules hold everywhere below:
// - The teacher token is typed in and kept in memory only (in socket.io's `auth`, which
//   it sends again at each reconnect): never in the address, never in localStorage or
//   sessionStorage, never logged.
// - Text from the server or from students is only ever set as text (textContent,
//   attributes), never as HTML: a student named "<img onerror=...>" shows as just that.
"use strict";

const REQUEST_TIMEOUT_MS = 5000;
const REFRESH_EVERY_MS = 5000; // `presence` arrives live; this also catches who left altogether

const byId = (id) => document.getElementById(id);
const ui = {
  status: byId("status"),
  login: byId("login"),
  token: byId("token"),
  loginMessage: byId("login-message"),
  tools: byId("tools"),
  links: byId("links"),
  joinCode: byId("join-code"),
  qr: byId("qr"),
  projectorOn: byId("projector-on"),
  projectorOff: byId("projector-off"),
  nobody: byId("nobody"),
  rooms: byId("rooms"),
  roomsProblem: byId("rooms-problem"),
  muteSeconds: byId("mute-seconds"),
  announce: byId("announce"),
  announceText: byId("announce-text"),
  announceRoom: byId("announce-room"),
  result: byId("result"),
};

let socket = null;                     // the connection to /teacher, once a token was typed
// Rooms by name, which students choose: no prototype, so "__proto__" is a room like any.
const roomMap = (from = {}) => Object.assign(Object.create(null), from);
let view = { rooms: roomMap(), people: [] };  // what the server told us last
let shown = "";                        // the view as last drawn, to redraw only on a change
let refreshTimer = null;
let refreshSoonTimer = null;

// -- words on the page -----------------------------------------------------------------

function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = `status ${kind}`;
}

// The outcome of an action, as a sentence: the server's own words when it refused.
function tell(text, ok) {
  ui.result.textContent = text;
  ui.result.className = `message result ${ok ? "ok" : "refused"}`;
}

// -- connecting ------------------------------------------------------------------------

function connect(token) {
  if (socket) {
    const older = socket;
    socket = null; // first, so that its "io client disconnect" is not shown
    older.disconnect();
  }
  ui.loginMessage.textContent = "";
  setStatus("Connecting to the chat server…");
  const connection = io("/teacher", {
    auth: { token },
    forceNew: true, // a fresh connection for each token typed
    reconnectionDelay: 500,
    reconnectionDelayMax: 10000,
  });
  socket = connection;
  // Events of a connection given up for a newer one are ignored.
  const mine = (handler) => (...args) => { if (socket === connection) handler(...args); };

  connection.on("connect", mine(() => {
    ui.login.hidden = true;
    ui.tools.hidden = false;
    setStatus("Connected: the rooms below update live.", "ok");
    invite();
    refresh();
    clearInterval(refreshTimer);
    refreshTimer = setInterval(refresh, REFRESH_EVERY_MS);
  }));

  connection.on("connect_error", mine((error) => {
    if (connection.active) {
      // Not a refusal: the server cannot be reached now, and socket.io tries again.
      setStatus("Cannot reach the chat server: trying again…", "trouble");
      return;
    }
    // The server refused the token: show its sentence as it is (a wrong token, or
    // "Too many wrong tries of the teacher token from your address: wait 4 s ...").
    socket = null;
    stopRefreshing();
    showLogin(error.message || "The server refused the connection.");
  }));

  connection.on("disconnect", mine((reason) => {
    stopRefreshing();
    if (connection.active) {
      setStatus(`Connection lost (${reason}): reconnecting…`, "trouble");
    } else {
      // "io server disconnect": the server ended this connection and socket.io does not
      // come back on its own; the token must be typed again.
      socket = null;
      showLogin("The server closed this connection: type the token to connect again.");
    }
  }));

  connection.io.on("reconnect_attempt", mine((attempt) => {
    setStatus(`Connection lost: reconnecting (try ${attempt})…`, "trouble");
  }));

  // Every room's presence, pushed by the server as the room hears it.
  connection.on("presence", mine((presence) => {
    if (!presence || typeof presence.room !== "string" || !Array.isArray(presence.members)) {
      return;
    }
    const members = presence.members.map(String);
    if (members.length) view.rooms[presence.room] = members;
    else delete view.rooms[presence.room];
    view.people = [...new Set([...view.people, ...members])].sort();
    draw();
    refreshSoon(); // who left the chat altogether comes only with `rooms`
  }));
}

function showLogin(sentence) {
  ui.tools.hidden = true;
  ui.login.hidden = false;
  ui.loginMessage.textContent = sentence;
  setStatus("Not connected.", "trouble");
  ui.token.focus();
}

ui.login.addEventListener("submit", (event) => {
  event.preventDefault(); // never submitted: the token must not travel in an address
  const token = ui.token.value.trim();
  ui.token.value = "";
  if (!token) {
    ui.loginMessage.textContent =
      "Type the teacher token: the server printed it when it started.";
    return;
  }
  if (typeof io !== "function") {
    ui.loginMessage.textContent =
      "The socket.io client did not load: reload the page, or check that the chat server is running.";
    return;
  }
  connect(token);
});

// -- requests --------------------------------------------------------------------------

// Send a teacher's request; always resolves to an ack, {"ok": false, "error"} if it failed.
async function request(event, payload) {
  if (!socket || !socket.connected) {
    return { ok: false, error: "Not connected to the chat server right now: wait until it reconnects, then try again." };
  }
  try {
    const answer = await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, payload);
    if (answer && typeof answer === "object") return answer;
    return { ok: false, error: "The server's answer could not be read." };
  } catch {
    return { ok: false, error: `The server did not answer within ${REQUEST_TIMEOUT_MS / 1000} s: is it still running?` };
  }
}

// The join link(s) and the QR code of the first, asked for once connected (only a
// teacher may have them: they carry the join code).
async function invite() {
  const answer = await request("invite", {});
  if (!answer.ok) {
    tell(answer.error, false);
    return;
  }
  const links = Array.isArray(answer.links) ? answer.links.map(String) : [];
  ui.links.replaceChildren(...links.map((link) => {
    const item = document.createElement("li");
    const anchor = document.createElement("a");
    anchor.href = link;
    anchor.textContent = link;
    anchor.className = "join-link";
    item.append(anchor);
    return item;
  }));
  const code = links.length ? codeOf(links[0]) : null;
  ui.joinCode.textContent = code ? `Join code: ${code}` : "No join code: anyone may join.";
  const picture = typeof answer.qr === "string" && answer.qr.startsWith("data:image/svg+xml");
  ui.qr.hidden = !picture;
  if (picture) ui.qr.src = answer.qr;
}

// The join code a link carries after "#code=", for those who type it in by hand.
function codeOf(link) {
  try {
    const code = new URLSearchParams(new URL(link).hash.slice(1)).get("code");
    return code || null;
  } catch {
    return null;
  }
}

async function refresh() {
  const answer = await request("rooms", {});
  if (!answer.ok) {
    ui.roomsProblem.textContent = `The rooms could not be refreshed: ${answer.error}`;
    return;
  }
  ui.roomsProblem.textContent = "";
  view = {
    rooms: roomMap(answer.rooms && typeof answer.rooms === "object" ? answer.rooms : {}),
    people: Array.isArray(answer.people) ? answer.people.map(String) : [],
  };
  draw();
}

function refreshSoon() {
  clearTimeout(refreshSoonTimer);
  refreshSoonTimer = setTimeout(refresh, 300);
}

function stopRefreshing() {
  clearInterval(refreshTimer);
  clearTimeout(refreshSoonTimer);
}

// -- the teacher's actions -------------------------------------------------------------

async function kick(name) {
  const answer = await request("kick", { name });
  tell(answer.ok ? `Removed ${name} from the chat: they were told, and may come back after the kick period.`
    : answer.error, answer.ok);
  refresh();
}

async function mute(name) {
  const typed = ui.muteSeconds.value.trim();
  const seconds = Number(typed);
  if (typed === "" || !Number.isFinite(seconds)) {
    tell("Type how many seconds to mute for (0 lifts a mute).", false);
    ui.muteSeconds.focus();
    return;
  }
  const answer = await request("mute", { name, seconds });
  if (!answer.ok) tell(answer.error, false);
  else if (seconds === 0) tell(`Lifted ${name}'s mute: they can speak again.`, true);
  else tell(`Muted ${name} for ${seconds} s: they were told.`, true);
}

ui.announce.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = ui.announceText.value;
  const room = ui.announceRoom.value;
  const answer = await request("announce", room ? { text, room } : { text });
  if (!answer.ok) {
    tell(answer.error, false);
    return;
  }
  tell(room ? `Announced to room ${room}: “${text}”` : `Announced to everyone: “${text}”`, true);
  ui.announceText.value = "";
});

// -- drawing the rooms -----------------------------------------------------------------

function draw() {
  const drawing = JSON.stringify(view);
  if (drawing === shown) return; // nothing changed: keep the buttons under the mouse
  shown = drawing;
  const rooms = Object.keys(view.rooms).sort();
  const inRooms = new Set(rooms.flatMap((room) => view.rooms[room].map(String)));
  const alone = view.people.filter((name) => !inRooms.has(name));
  const groups = rooms.map((room) => group(room, view.rooms[room].map(String), room));
  if (alone.length) groups.push(group("in no room", alone, null));
  ui.rooms.replaceChildren(...groups);
  ui.nobody.hidden = view.people.length > 0 || rooms.length > 0;
  drawAnnounceChoices(rooms);
}

// One room (or the people in none) with a Mute and a Kick button per member.
function group(title, members, room) {
  const section = document.createElement("section");
  section.className = room === null ? "room no-room" : "room";
  if (room !== null) section.dataset.room = room;
  const heading = document.createElement("h3");
  heading.textContent = `${title} (${members.length})`;
  const list = document.createElement("ul");
  for (const name of members) {
    const item = document.createElement("li");
    item.className = "member";
    item.dataset.name = name;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    item.append(label, button("Mute", `Mute ${name}`, () => mute(name)),
      button("Kick", `Kick ${name}`, () => kick(name), "danger"));
    list.append(item);
  }
  section.append(heading, list);
  return section;
}

function button(text, label, onClick, kind = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  if (kind) element.className = kind;
  element.addEventListener("click", onClick);
  return element;
}

// The "To" choices of an announcement: everyone, or one room someone is in.
function drawAnnounceChoices(rooms) {
  const chosen = ui.announceRoom.value;
  const everyone = document.createElement("option");
  everyone.value = "";
  everyone.textContent = "everyone";
  const choices = rooms.map((room) => {
    const option = document.createElement("option");
    option.value = room;
    option.textContent = `room ${room}`;
    return option;
  });
  ui.announceRoom.replaceChildren(everyone, ...choices);
  ui.announceRoom.value = rooms.includes(chosen) ? chosen : "";
}

// -- the projector view: the join link and its QR code, large -------------------------

function projector(on) {
  document.body.classList.toggle("projector", on);
  (on ? ui.projectorOff : ui.projectorOn).focus();
}

ui.projectorOn.addEventListener("click", () => projector(true));
ui.projectorOff.addEventListener("click", () => projector(false));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.body.classList.contains("projector")) projector(false);
});
