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
//
// The page speaks English or Chinese, chosen as the chat page chooses (one choice for
// both pages): its own sentences are in teacher-text.js (TEACHER_TEXT), and the server is
// asked, with "lang" in `auth`, to word its refusals and answers in the same language.
// What the server said is shown as it came, in the language it used.
"use strict";

if (typeof TEACHER_TEXT === "undefined") {
  // teacher-text.js did not load, so there is no sentence to say it with but this one.
  document.getElementById("status").textContent =
    "The teacher's page could not load teacher-text.js: reload the page.";
  throw new Error("teacher-text.js did not load");
}

const REQUEST_TIMEOUT_MS = 5000;
const REFRESH_EVERY_MS = 5000; // `presence` arrives live; this also catches who left altogether
const HTML_LANG = { en: "en", zh: "zh-CN" }; // <html lang> for each language

const byId = (id) => document.getElementById(id);
const ui = {
  status: byId("status"),
  languages: byId("languages"),
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

// -- the page's language -----------------------------------------------------------------

// How the page's language is chosen, and the choice kept: page-language.js (one choice
// for this page and the chat page).
const spoken = (tag) => PAGE_LANGUAGE.spoken(tag, TEACHER_TEXT);
let language = PAGE_LANGUAGE.first(TEACHER_TEXT);

// A sentence the page words itself: the key of its text in TEACHER_TEXT and the values of
// its {slots}. It is kept so (on screen) and worded only when shown, so that switching
// language words it again. A plain string is a sentence someone else worded (the server,
// a student's name): it is shown as it is.
function words(key, values = {}) {
  return { key, values };
}

function template(sentence) {
  const texts = TEACHER_TEXT[language];
  return Object.hasOwn(texts, sentence.key) ? texts[sentence.key] : String(sentence.key);
}

function phrase(sentence) {
  if (sentence === null || sentence === undefined) return "";
  if (typeof sentence !== "object") return String(sentence);
  const values = sentence.values || {};
  return template(sentence).replace(/\{(\w+)\}/g, (slot, name) => phrase(values[name]));
}

// Put `sentence` into `element` as text; a child of `element` with data-slot="name" (the
// <code> of a command) is kept, as it is, where the sentence has {name}.
function fill(element, sentence) {
  const slots = {};
  for (const child of element.querySelectorAll(":scope > [data-slot]")) {
    slots[child.dataset.slot] = child;
  }
  if (!Object.keys(slots).length) {
    element.textContent = phrase(sentence);
    return;
  }
  const pieces = template(sentence).split(/\{(\w+)\}/); // text, slot, text, slot, ..., text
  element.replaceChildren(...pieces.map((piece, at) => (
    at % 2 === 0 ? document.createTextNode(piece)
      : slots[piece] || document.createTextNode(phrase((sentence.values || {})[piece])))));
}

let statusShown = { sentence: words("typeToken"), kind: "" }; // to word again on a switch
let loginShown = "";
let resultShown = { sentence: "", ok: true };
let roomsProblemShown = "";
let joinCodeShown = "";

// Everything on the page in `language`: the fixed labels (the elements that name a
// sentence in data-text, data-label or data-alt), then what is drawn.
function showLanguage() {
  document.documentElement.lang = HTML_LANG[language] || language;
  for (const element of document.querySelectorAll("[data-text]")) {
    fill(element, words(element.dataset.text));
  }
  for (const element of document.querySelectorAll("[data-label]")) {
    element.setAttribute("aria-label", phrase(words(element.dataset.label)));
  }
  for (const element of document.querySelectorAll("[data-alt]")) {
    element.alt = phrase(words(element.dataset.alt));
  }
  for (const button of ui.languages.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === language));
  }
  setStatus(statusShown.sentence, statusShown.kind);
  showLoginMessage(loginShown);
  tell(resultShown.sentence, resultShown.ok);
  showRoomsProblem(roomsProblemShown);
  showJoinCode(joinCodeShown);
  shown = ""; // the rooms' headings and buttons are words too: draw them again
  draw();
}

// The teacher's choice, with the switch: kept for next time (in this browser, for the
// chat page too), and it wins over the server's language and the browser's from now on.
// The server words its sentences to this connection in the language asked for when it
// connected; from the next connection on, in this one.
function chooseLanguage(chosen) {
  if (!spoken(chosen)) return;
  language = spoken(chosen);
  PAGE_LANGUAGE.remember(language);
  showLanguage();
}

ui.languages.addEventListener("click", (event) => {
  const button = event.target.closest("[data-lang]");
  if (button) chooseLanguage(button.dataset.lang);
});

// -- words on the page -----------------------------------------------------------------

function setStatus(sentence, kind = "") {
  statusShown = { sentence, kind };
  ui.status.textContent = phrase(sentence);
  ui.status.className = `status ${kind}`;
}

function showLoginMessage(sentence) {
  loginShown = sentence;
  ui.loginMessage.textContent = phrase(sentence);
}

function showRoomsProblem(sentence) {
  roomsProblemShown = sentence;
  ui.roomsProblem.textContent = phrase(sentence);
}

function showJoinCode(sentence) {
  joinCodeShown = sentence;
  ui.joinCode.textContent = phrase(sentence);
}

// The outcome of an action, as a sentence: the server's own words when it refused.
function tell(sentence, ok) {
  resultShown = { sentence, ok };
  ui.result.textContent = phrase(sentence);
  ui.result.className = `message result ${ok ? "ok" : "refused"}`;
}

// -- connecting ------------------------------------------------------------------------

function connect(token) {
  if (socket) {
    const older = socket;
    socket = null; // first, so that its "io client disconnect" is not shown
    older.disconnect();
  }
  showLoginMessage("");
  setStatus(words("connecting"));
  const connection = io("/teacher", {
    // Asked afresh at each (re)connection: the token, and the language the server is to
    // word its refusals and answers in (the page's, as it is then).
    auth: (send) => send({ token, lang: language }),
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
    setStatus(words("connected"), "ok");
    invite();
    refresh();
    clearInterval(refreshTimer);
    refreshTimer = setInterval(refresh, REFRESH_EVERY_MS);
  }));

  connection.on("connect_error", mine((error) => {
    if (connection.active) {
      // Not a refusal: the server cannot be reached now, and socket.io tries again.
      setStatus(words("cannotReach"), "trouble");
      return;
    }
    // The server refused the token: show its sentence as it is (a wrong token, or
    // "Too many wrong tries of the teacher token from your address: wait 4 s ...").
    socket = null;
    stopRefreshing();
    showLogin(error.message || words("serverRefused"));
  }));

  connection.on("disconnect", mine((reason) => {
    stopRefreshing();
    if (connection.active) {
      setStatus(words("connectionLost", { reason }), "trouble");
    } else {
      // "io server disconnect": the server ended this connection and socket.io does not
      // come back on its own; the token must be typed again.
      socket = null;
      showLogin(words("serverClosed"));
    }
  }));

  connection.io.on("reconnect_attempt", mine((attempt) => {
    setStatus(words("reconnecting", { attempt }), "trouble");
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
  showLoginMessage(sentence);
  setStatus(words("notConnected"), "trouble");
  ui.token.focus();
}

ui.login.addEventListener("submit", (event) => {
  event.preventDefault(); // never submitted: the token must not travel in an address
  const token = ui.token.value.trim();
  ui.token.value = "";
  if (!token) {
    showLoginMessage(words("tokenMissing"));
    return;
  }
  if (typeof io !== "function") {
    showLoginMessage(words("noClient"));
    return;
  }
  connect(token);
});

// -- requests --------------------------------------------------------------------------

// Send a teacher's request; always resolves to an ack, {"ok": false, "error"} if it failed
// (the error: the server's sentence, or the page's words).
async function request(event, payload) {
  if (!socket || !socket.connected) {
    return { ok: false, error: words("notConnectedRequest") };
  }
  try {
    const answer = await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, payload);
    if (answer && typeof answer === "object") return answer;
    return { ok: false, error: words("unreadable") };
  } catch {
    return { ok: false, error: words("noAnswer", { seconds: REQUEST_TIMEOUT_MS / 1000 }) };
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
  showJoinCode(code ? words("joinCode", { code }) : words("noJoinCode"));
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
    showRoomsProblem(words("roomsProblem", { why: answer.error }));
    return;
  }
  showRoomsProblem("");
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
  tell(answer.ok ? words("kicked", { name }) : answer.error, answer.ok);
  refresh();
}

async function mute(name) {
  const typed = ui.muteSeconds.value.trim();
  const seconds = Number(typed);
  if (typed === "" || !Number.isFinite(seconds)) {
    tell(words("typeSeconds"), false);
    ui.muteSeconds.focus();
    return;
  }
  const answer = await request("mute", { name, seconds });
  if (!answer.ok) tell(answer.error, false);
  else if (seconds === 0) tell(words("unmuted", { name }), true);
  else tell(words("muted", { name, seconds }), true);
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
  tell(room ? words("announcedToRoom", { room, text }) : words("announcedToEveryone", { text }),
    true);
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
  if (alone.length) groups.push(group(words("inNoRoom"), alone, null));
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
  heading.textContent = phrase(words("roomHeading", { room: title, count: members.length }));
  const list = document.createElement("ul");
  for (const name of members) {
    const item = document.createElement("li");
    item.className = "member";
    item.dataset.name = name;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    item.append(label, button(words("mute"), words("muteName", { name }), () => mute(name)),
      button(words("kick"), words("kickName", { name }), () => kick(name), "danger"));
    list.append(item);
  }
  section.append(heading, list);
  return section;
}

function button(text, label, onClick, kind = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = phrase(text);
  element.setAttribute("aria-label", phrase(label));
  if (kind) element.className = kind;
  element.addEventListener("click", onClick);
  return element;
}

// The "To" choices of an announcement: everyone, or one room someone is in.
function drawAnnounceChoices(rooms) {
  const chosen = ui.announceRoom.value;
  const everyone = document.createElement("option");
  everyone.value = "";
  everyone.textContent = phrase(words("everyone"));
  const choices = rooms.map((room) => {
    const option = document.createElement("option");
    option.value = room;
    option.textContent = phrase(words("toRoom", { room }));
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

// -- start -------------------------------------------------------------------------------

showLanguage();
