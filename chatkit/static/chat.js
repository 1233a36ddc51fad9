// The students' chat page: what `python -m chatkit serve` shows at "/".
//
// It speaks the chat protocol of docs/protocol.md through the official socket.io
// client (the global `io`, from /static/vendor/socket.io.min.js), following the same
// resume rules as chatkit's Python ChatClient, so that a lost connection, a restarted
// server or a reloaded page loses nothing and shows nothing twice:
//
//   * `auth` is a function, so every (re)connection sends the current session, rooms,
//     offset and history;
//   * a message whose id is not above the newest id seen in its room is a copy: dropped;
//   * what was said but not acknowledged waits in an outbox and is sent again, with
//     the same client_id, once connected again (the server keeps it once);
//   * all of that lives in sessionStorage, so a reload of the tab resumes too.
//
// Text from other people is only ever put into the page as text (textContent), never
// as HTML. The server's Content-Security-Policy lets no other script run anyway.
//
// The page speaks English or Chinese: its own sentences are in chat-text.js (CHAT_TEXT),
// and the server is asked, with "lang" in `auth`, to word its refusals and notices in the
// same language. What the server said is shown as it came, in the language it used.
"use strict";

(() => {
  if (typeof CHAT_TEXT === "undefined") {
    // chat-text.js did not load, so there is no sentence to say it with but this one.
    document.getElementById("status").textContent =
      "The chat page could not load chat-text.js: reload the page.";
    return;
  }

  const STORE_KEY = "chatkit-chat";
  const HTML_LANG = { en: "en", zh: "zh-CN" };  // <html lang> for each language
  // The protocol's default limit (`serve --max-text` may lower it: the server's
  // refusal is then shown). Counted in characters (code points), as the server does.
  const MAX_TEXT = 2000;
  const DEFAULT_ROOM = "lobby";
  const KEEP_PER_ROOM = 200;  // rows kept per room, in memory and in sessionStorage
  const MAX_SENDS = 3;  // as chatkit.resume.Outbox: a message that breaks the line is not sent forever
  const REQUEST_TIMEOUT = 5000;
  const SAY_TIMEOUT = 15000;

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), alert: $("alert"), tryNow: $("try-now"), quit: $("quit"),
    joinForm: $("join-form"), name: $("name"), code: $("code"),
    chat: $("chat"), roomList: $("room-list"), roomForm: $("room-form"),
    roomName: $("room-name"), roomTitle: $("room-title"), leaveRoom: $("leave-room"),
    log: $("log"), messages: $("messages"), outbox: $("outbox"),
    sayForm: $("say-form"), text: $("text"), memberList: $("member-list"),
    languages: $("languages"),
  };

  // ---- the page's language ------------------------------------------------------------

  // How the page's language is chosen, and the choice kept: page-language.js (one
  // choice for this page and the teacher's).
  const spoken = (tag) => PAGE_LANGUAGE.spoken(tag, CHAT_TEXT);
  let language = PAGE_LANGUAGE.first(CHAT_TEXT);

  // A sentence the page words itself: the key of its text in CHAT_TEXT and the values
  // of its {slots}. It is kept so (on screen, in the saved rows) and worded only when
  // shown, so that switching language words it again. A plain string is a sentence
  // someone else worded (the server, a student): it is shown as it is.
  function words(key, values = {}) {
    return { key, values };
  }

  function phrase(sentence) {
    if (sentence === null || sentence === undefined) return "";
    if (typeof sentence !== "object") return String(sentence);
    const texts = CHAT_TEXT[language];
    const template = Object.hasOwn(texts, sentence.key) ? texts[sentence.key] : String(sentence.key);
    const values = sentence.values || {};
    return template.replace(/\{(\w+)\}/g, (slot, name) => phrase(values[name]));
  }

  // An Error for a refusal, carrying its sentence (words, or the server's string).
  function failure(sentence) {
    const error = new Error(phrase(sentence));
    error.sentence = sentence;
    return error;
  }

  // ---- what is kept across reloads (sessionStorage: this tab only) ------------------

  // A map keyed by room names, which students choose: a plain {} would take "__proto__"
  // or "constructor" for properties every object inherits, so these have no prototype.
  function roomMap(from = {}) {
    return Object.assign(Object.create(null), from);
  }

  function freshState(name, code) {
    return {
      name, code,          // what the student typed (the welcome's name replaces it)
      joined: false,       // true while the student wants to be in the chat
      session: null,       // the welcome's secret: takes the name back on reconnect
      history: null,       // the welcome's history: which sequence our ids belong to
      offset: 0,           // the newest message id seen, in any room
      lastId: roomMap(),   // room -> the newest message id seen there
      rooms: [],           // the rooms joined and not left
      shown: null,         // the room on screen
      unread: roomMap(),   // room -> messages not seen yet
      members: roomMap(),  // room -> names
      log: roomMap(),      // room -> rows shown: {kind, id, name, text, ts}
      outbox: [],          // says not acknowledged yet: {room, text, client_id, sends}
    };
  }

  function load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE_KEY));
      if (saved) {
        for (const key of ["lastId", "unread", "members", "log"]) saved[key] = roomMap(saved[key]);
      }
      return saved;
    } catch {
      return null;  // storage refused (private mode) or unreadable: start afresh
    }
  }

  function save() {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch {
      // Too full: keep what resuming needs and fewer rows, rather than nothing.
      for (const room of Object.keys(state.log)) state.log[room] = state.log[room].slice(-20);
      try { sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch { /* no storage */ }
    }
  }

  let state = load() || freshState("", "");

  // Not kept: what belongs to this page's connection only.
  let socket = null;
  let retryTimer = null;  // a try again after a refusal that passes with time
  let welcomed = false;      // the current connection got its welcome
  let lost = false;          // a connection was lost, and none is back yet
  let connection = 0;        // counts connections: each outbox entry is sent once per connection
  const sentOn = new Map();  // client_id -> the connection it was last sent on
  const acked = new Map();   // message id -> its outbox row, until its `said` arrives
  let lastNotice = { text: "", at: 0 };  // why the server may be about to close us
  let nextTryAt = null;      // when socket.io tries to reconnect next (ms since 1970)
  let tick = null;

  // ---- showing things ---------------------------------------------------------------

  let statusShown = words("loading");  // the sentences on screen, to word again on a switch
  let alertShown = "";

  function setStatus(sentence, { tryNow = false } = {}) {
    statusShown = sentence;
    ui.status.textContent = phrase(sentence);
    ui.tryNow.hidden = !tryNow;
  }

  function alertText(sentence) {
    alertShown = sentence;
    ui.alert.textContent = phrase(sentence);
  }

  // Everything on the page in `language`: the fixed labels (the elements that name a
  // sentence in data-text, data-placeholder or data-label), then what is drawn.
  function showLanguage() {
    document.documentElement.lang = HTML_LANG[language] || language;
    for (const element of document.querySelectorAll("[data-text]")) {
      element.textContent = phrase(words(element.dataset.text));
    }
    for (const element of document.querySelectorAll("[data-placeholder]")) {
      element.placeholder = phrase(words(element.dataset.placeholder));
    }
    for (const element of document.querySelectorAll("[data-label]")) {
      element.setAttribute("aria-label", phrase(words(element.dataset.label)));
    }
    for (const button of ui.languages.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === language));
    }
    ui.status.textContent = phrase(statusShown);
    ui.alert.textContent = phrase(alertShown);
    renderRooms();
    renderConversation();
    renderMembers();
  }

  // The student's choice, with the switch: kept for next time (in this browser), and it
  // wins over the server's language and the browser's from now on.
  function chooseLanguage(chosen) {
    if (!spoken(chosen)) return;
    language = spoken(chosen);
    PAGE_LANGUAGE.remember(language);
    showLanguage();
  }

  function timeOf(ts) {
    const when = new Date(ts * 1000);
    return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // One row of the conversation, built from text nodes only.
  function rowElement(row) {
    const item = document.createElement("li");
    item.className = `msg ${row.kind}`;
    if (row.kind === "said" && row.name === state.name) item.classList.add("mine");
    if (row.id) item.dataset.id = row.id;
    if (row.ts) {
      const time = document.createElement("time");
      time.className = "time";
      time.dateTime = new Date(row.ts * 1000).toISOString();
      time.textContent = timeOf(row.ts);
      item.append(time);
    }
    if (row.name) {
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = row.name;
      item.append(name);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = phrase(row.text);  // a student's text, or the page's words ("ada joined")
    item.append(text);
    if (row.why) {
      const why = document.createElement("span");
      why.className = "why";
      why.textContent = phrase(row.why);
      item.append(why);
    }
    return item;
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
  }

  function scrollDown() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function addRow(room, row) {
    const rows = (state.log[room] ||= []);
    rows.push(row);
    if (rows.length > KEEP_PER_ROOM) rows.splice(0, rows.length - KEEP_PER_ROOM);
    if (room === state.shown) {
      const follow = nearBottom() || (row.kind === "said" && row.name === state.name);
      ui.messages.append(rowElement(row));
      while (ui.messages.children.length > KEEP_PER_ROOM) ui.messages.firstElementChild.remove();
      if (follow) scrollDown();
    }
  }

  function outboxElement(entry, why = words("sending")) {
    const item = rowElement({ kind: "pending", name: state.name, text: entry.text, why });
    item.dataset.clientId = entry.client_id;
    return item;
  }

  function renderRooms() {
    ui.roomList.replaceChildren(...state.rooms.slice().sort().map((room) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "room";
      button.dataset.room = room;
      button.textContent = room;
      const count = state.unread[room] || 0;
      if (count) {
        const badge = document.createElement("span");
        badge.className = "unread";
        badge.textContent = String(count);
        badge.setAttribute("aria-label", phrase(words("unread", { count })));
        button.append(" ", badge);
      }
      if (room === state.shown) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => show(room));
      item.append(button);
      return item;
    }));
    const unread = Object.values(state.unread).reduce((sum, n) => sum + n, 0);
    document.title = phrase(unread ? words("titleUnread", { count: unread }) : words("title"));
  }

  function renderMembers() {
    const names = state.members[state.shown] || [];
    $("members-title").textContent =
      phrase(state.shown ? words("membersCount", { count: names.length }) : words("members"));
    ui.memberList.replaceChildren(...names.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }));
  }

  function renderConversation() {
    ui.roomTitle.textContent = state.shown || phrase(words("noRoom"));
    ui.leaveRoom.hidden = !state.shown;
    ui.messages.replaceChildren(...(state.log[state.shown] || []).map(rowElement));
    ui.outbox.replaceChildren(...state.outbox.filter((entry) => entry.room === state.shown)
      .map((entry) => outboxElement(entry, words(welcomed ? "sending" : "waitingForConnection"))));
    scrollDown();
  }

  function show(room) {
    state.shown = room;
    if (room) delete state.unread[room];
    renderRooms();
    renderConversation();
    renderMembers();
    save();
  }

  function showJoinForm(show) {
    ui.joinForm.hidden = !show;
    ui.chat.hidden = show;
    ui.quit.hidden = show;
    if (show) {
      ui.name.value ||= state.name || "";
      (ui.name.value ? ui.code : ui.name).focus();
    }
  }

  // ---- the connection -----------------------------------------------------------------

  // The connect payload, made afresh at every attempt (socket.io calls it), as
  // chatkit.resume.Seen.auth: without rooms a fresh start, with them where to resume.
  function auth(send) {
    // lang: the server words its refusals and notices to this page in the page's language.
    const payload = { name: state.name, lang: language };
    if (state.code) payload.code = state.code;
    if (state.session) payload.session = state.session;
    if (state.rooms.length) {
      payload.rooms = state.rooms.slice().sort();
      payload.offset = state.offset;
      if (state.history) payload.history = state.history;
    }
    send(payload);
  }

  function makeSocket() {
    const made = io("/chat", {
      autoConnect: false,
      // As the protocol asks: 0.5 s, 1 s, 2 s ... then 30 s between tries, each give
      // or take up to half at random, so that a class does not come back at once.
      reconnectionAttempts: Infinity, reconnectionDelay: 500, reconnectionDelayMax: 30000,
      randomizationFactor: 0.5,
      auth,
    });
    // socket.io does not say how long it waits before the next try: note it when the
    // wait is drawn, to show "reconnecting in 8 s".
    const backoff = made.io.backoff;
    const duration = backoff.duration.bind(backoff);
    backoff.duration = () => {
      const wait = duration();
      nextTryAt = Date.now() + wait;
      return wait;
    };
    made.on("welcome", onWelcome);
    made.on("said", onSaid);
    made.on("presence", onPresence);
    made.on("notice", onNotice);
    made.on("connect_error", onConnectError);
    made.on("disconnect", onDisconnect);
    return made;
  }

  function connect() {
    socket ||= makeSocket();
    setStatus(words("connecting", { name: state.name }));
    socket.connect();
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function onWelcome(welcome) {
    if (!isObject(welcome) || typeof welcome.session !== "string") return;
    const firstTime = !state.joined;
    state.joined = true;
    state.name = welcome.name;
    ui.name.value = welcome.name;  // as the server wrote it (NFKC): joining again is "the same name"
    state.session = welcome.session;
    if (welcome.history !== state.history) {
      // Another history (a server restarted without --db): its ids started again, so
      // every id we remember means nothing there; the replay that follows is all new.
      state.lastId = roomMap();
      state.offset = 0;
      state.history = welcome.history;
    }
    welcomed = true;
    lost = false;
    connection += 1;
    stopCountdown();
    alertText("");
    setStatus(words("connected", { name: state.name }));
    showJoinForm(false);
    if (firstTime) ui.text.focus();
    save();
    resendOutbox();
    if (firstTime && state.rooms.length === 0) join(DEFAULT_ROOM);
    else show(state.shown && state.rooms.includes(state.shown) ? state.shown : state.rooms[0] || null);
  }

  // True the first time a message is seen; false for a copy (after a resume).
  function remember(message) {
    if (message.id <= (state.lastId[message.room] || 0)) return false;
    state.lastId[message.room] = message.id;
    state.offset = Math.max(state.offset, message.id);
    return true;
  }

  function isMessage(message) {
    return isObject(message) && Number.isInteger(message.id) && typeof message.room === "string"
      && typeof message.name === "string" && typeof message.text === "string";
  }

  function onSaid(message) {
    if (!isMessage(message) || !remember(message)) return;
    const pending = acked.get(message.id);
    if (pending) {  // our own message, acknowledged already: its row becomes the real one
      pending.remove();
      acked.delete(message.id);
    }
    if (!state.rooms.includes(message.room)) { save(); return; }
    addRow(message.room, { kind: "said", id: message.id, name: message.name,
                           text: message.text, ts: message.ts });
    if (message.room !== state.shown && message.name !== state.name) {
      state.unread[message.room] = (state.unread[message.room] || 0) + 1;
      renderRooms();
    }
    save();
  }

  function onPresence(presence) {
    if (!isObject(presence) || !Array.isArray(presence.members)) return;
    const before = state.members[presence.room];
    state.members[presence.room] = presence.members.map(String);
    if (before) {  // not our own arrival: say who came and went
      for (const name of presence.members.filter((n) => !before.includes(n))) {
        addRow(presence.room, { kind: "presence", text: words("joined", { name }) });
      }
      for (const name of before.filter((n) => !presence.members.includes(n))) {
        addRow(presence.room, { kind: "presence", text: words("left", { name }) });
      }
    }
    if (presence.room === state.shown) renderMembers();
    save();
  }

  function onNotice(notice) {
    if (!isObject(notice) || typeof notice.text !== "string") return;
    lastNotice = { text: notice.text, at: Date.now() };
    const room = notice.room && state.rooms.includes(notice.room) ? notice.room : state.shown;
    if (room) addRow(room, { kind: "notice", text: notice.text, ts: Date.now() / 1000 });
    else alertText(notice.text);
    save();
  }

  function onConnectError(error) {
    welcomed = false;
    if (socket.active) {
      // Not a refusal: the server could not be reached, or turned this address away for
      // connecting too often (HTTP 429, its sentence in the body). socket.io tries again.
      const wait = turnedAway(error);
      if (wait) {
        countdown(wait);
        return;
      }
      countdown(words(lost ? "lostNoAnswer" : "cannotReach", { error: error.message }));
      return;
    }
    // A refusal that passes with time ("Too many connections from your address: wait
    // 0.2 s…", a wrong-code wait caused by a classmate behind the same router): the
    // server says when in data.retry_after. Try again then, by ourselves.
    const later = isObject(error.data) ? Number(error.data.retry_after) : NaN;
    if (later > 0) {
      alertText(error.message);
      setStatus(words("tryingAgainIn", { seconds: Math.ceil(later) }));
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => socket.connect(), (later + Math.random()) * 1000);
      return;
    }
    // Any other refusal, in the server's words: final, since retrying would not change it.
    lost = false;
    stopCountdown();
    alertText(error.message || words("serverRefused"));
    setStatus(words(state.joined ? "refusedBack" : "notConnected"));
    state.joined = false;
    save();
    showJoinForm(true);
  }

  // The sentence of an HTTP 429 answer to the handshake (docs/protocol.md, "Limits"), or
  // null. socket.io reports it as a transport error: the status in `description`, the
  // XMLHttpRequest in `context`.
  function turnedAway(error) {
    if (error.description !== 429) return null;
    try {
      const said = JSON.parse(error.context.responseText);
      return typeof said.message === "string" ? said.message : null;
    } catch {
      return null;
    }
  }

  function onDisconnect(reason) {
    welcomed = false;
    markOutboxWaiting();
    if (reason === "io client disconnect") return;  // we left on purpose
    if (reason === "io server disconnect") {
      // A kick or a takeover: the server closed us on purpose, and socket.io does not
      // come back (two tabs would take the name from each other forever).
      state.joined = false;
      save();
      setStatus(words("disconnectedByServer"));
      // The kick or takeover notice comes just before the disconnect; an older one is not why.
      const why = Date.now() - lastNotice.at < 5000 ? lastNotice.text : "";
      alertText(why || words("serverClosed"));
      showJoinForm(true);
      return;
    }
    lost = true;
    countdown(words("connectionLost", { reason }));
  }

  // "Reconnecting in 3 s…", counted down while socket.io waits between tries; `why` is
  // the page's words or the server's sentence (an HTTP 429's).
  function countdown(why) {
    stopCountdown();
    const draw = () => {
      const left = nextTryAt ? Math.ceil((nextTryAt - Date.now()) / 1000) : 0;
      setStatus(left > 0 ? words("reconnectingIn", { why, seconds: left })
                         : words("reconnecting", { why }), { tryNow: true });
    };
    draw();
    setTimeout(draw, 0);  // socket.io draws its wait just after telling us of the loss
    tick = setInterval(draw, 1000);
  }

  function stopCountdown() {
    clearInterval(tick);
    tick = null;
    nextTryAt = null;
    ui.tryNow.hidden = true;
  }

  function tryNow() {
    // Ends socket.io's wait: closing and opening again starts a try at once.
    socket.disconnect();
    setStatus(words("reconnectingNow"));
    socket.connect();
  }

  // ---- requests ---------------------------------------------------------------------

  async function request(event, payload) {
    if (!welcomed) throw failure(words("notConnectedRequest"));
    let answer;
    try {
      answer = await socket.timeout(REQUEST_TIMEOUT).emitWithAck(event, payload);
    } catch {
      throw failure(words("noAnswer", { event }));
    }
    if (!isObject(answer) || !answer.ok) {
      throw failure(isObject(answer) && answer.error ? String(answer.error)
                                                     : words("eventRefused", { event }));
    }
    return answer;
  }

  async function join(room) {
    try {
      const answer = await request("join", { room });
      if (!state.rooms.includes(answer.room)) state.rooms.push(answer.room);
      state.members[answer.room] = answer.members;
      const history = (answer.history || []).filter(isMessage);
      state.log[answer.room] = history.map((message) => (
        { kind: "said", id: message.id, name: message.name, text: message.text, ts: message.ts }));
      // As Seen.history: the history's newest message counts as seen.
      for (const message of history) remember(message);
      ui.roomName.value = "";
      show(answer.room);
      return true;
    } catch (problem) {
      alertText(problem.sentence || problem.message);
      return false;
    }
  }

  async function leave(room) {
    try {
      await request("leave", { room });
    } catch (problem) {
      alertText(problem.sentence || problem.message);
      return;
    }
    state.rooms = state.rooms.filter((name) => name !== room);
    delete state.log[room];
    delete state.members[room];
    delete state.unread[room];
    show(state.rooms.slice().sort()[0] || null);
  }

  // 32 random hex digits. Not crypto.randomUUID(): browsers offer it only on https or
  // localhost, and a classroom server is often plain http://10.0.0.5:5000.
  function newClientId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // Code points, as the server counts them ("é" is 1, an emoji is 1, not 2).
  function length(text) {
    return [...text].length;
  }

  function say(text) {
    if (!state.shown) return alertText(words("joinRoomFirst"));
    if (!text.trim()) return alertText(words("emptyMessage"));
    if (length(text) > MAX_TEXT) {
      return alertText(words("tooLong", { length: length(text), most: MAX_TEXT }));
    }
    alertText("");
    const entry = { room: state.shown, text, client_id: newClientId(), sends: 0 };
    state.outbox.push(entry);
    save();
    ui.outbox.append(outboxElement(entry, words(welcomed ? "sending" : "waitingForConnection")));
    scrollDown();
    ui.text.value = "";
    if (welcomed) send(entry);
  }

  function send(entry) {
    if (sentOn.get(entry.client_id) === connection) return;  // once per connection
    const row = () => ui.outbox.querySelector(`[data-client-id="${entry.client_id}"]`);
    if (entry.sends >= MAX_SENDS) {
      // The server may have kept it without our hearing so: say so, and do not put the
      // text back (sending it again would make a new message, a copy).
      return refused(entry, words("maybeNotSent", { tries: MAX_SENDS }), row(), { refill: false });
    }
    entry.sends += 1;
    sentOn.set(entry.client_id, connection);
    save();
    const payload = { room: entry.room, text: entry.text, client_id: entry.client_id };
    socket.timeout(SAY_TIMEOUT).emit("say", payload, (error, answer) => {
      if (error) {
        // Lost with the connection: sent again on the next one. No answer on a live
        // one: send it again now (the server keeps a client_id once, so that is safe).
        if (welcomed && sentOn.get(entry.client_id) === connection) {
          sentOn.delete(entry.client_id);
          send(entry);
        }
        return;
      }
      state.outbox = state.outbox.filter((waiting) => waiting.client_id !== entry.client_id);
      const shown = row();
      if (isObject(answer) && answer.ok) {
        // Its `said` may come before or after this answer: the row waits for it.
        if (shown && answer.id > (state.lastId[entry.room] || 0)) acked.set(answer.id, shown);
        else if (shown) shown.remove();
        save();
      } else {
        const why = isObject(answer) && answer.error ? words("notSent", { why: String(answer.error) })
                                                     : words("notSentRefused");
        refused(entry, why, shown);
      }
    });
  }

  function refused(entry, why, shown, { refill = true } = {}) {
    state.outbox = state.outbox.filter((waiting) => waiting.client_id !== entry.client_id);
    if (shown) shown.remove();
    addRow(entry.room, { kind: "refused", name: state.name, text: entry.text, why });
    alertText(why);
    if (refill && !ui.text.value && entry.room === state.shown) ui.text.value = entry.text;  // to fix and send again
    save();
  }

  // As Outbox.connected: on a new connection, send again, in order, what waits.
  function resendOutbox() {
    for (const entry of state.outbox.slice()) send(entry);
    for (const item of ui.outbox.querySelectorAll(".why")) item.textContent = phrase(words("sending"));
  }

  function markOutboxWaiting() {
    for (const item of ui.outbox.querySelectorAll(".why")) {
      item.textContent = phrase(words("waitingForConnection"));
    }
  }

  // ---- what the student does --------------------------------------------------------

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.name.value.trim();
    if (!name) {
      alertText(words("typeName"));
      ui.name.focus();
      return;
    }
    const code = ui.code.value.trim();
    // The same name again (after a refusal or a kick) resumes; another starts afresh.
    if (name !== state.name) state = freshState(name, code);
    state.code = code;
    alertText("");
    connect();
  });

  ui.roomForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = ui.roomName.value.trim();
    if (!room) return alertText(words("typeRoom"));
    if (state.rooms.includes(room)) {
      ui.roomName.value = "";
      return show(room);
    }
    join(room);
  });

  ui.leaveRoom.addEventListener("click", () => state.shown && leave(state.shown));

  ui.sayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    say(ui.text.value);
  });

  ui.text.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter makes a new line; Enter while composing (an input
    // method for Chinese, say) finishes the word instead.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      say(ui.text.value);
    }
  });

  ui.text.addEventListener("input", () => {
    const over = length(ui.text.value) - MAX_TEXT;
    if (over > 0) alertText(words("tooLongTyping", { over, most: MAX_TEXT }));
    else if (["tooLong", "tooLongTyping"].includes(alertShown.key)) alertText("");
  });

  ui.tryNow.addEventListener("click", tryNow);

  ui.languages.addEventListener("click", (event) => {
    const button = event.target.closest("[data-lang]");
    if (button) chooseLanguage(button.dataset.lang);
  });

  ui.quit.addEventListener("click", () => {
    clearTimeout(retryTimer);
    if (socket) socket.disconnect();
    welcomed = false;
    lost = false;
    stopCountdown();
    const name = state.name;
    state = freshState(name, state.code);
    try { sessionStorage.removeItem(STORE_KEY); } catch { /* no storage */ }
    setStatus(words("leftChat"));
    alertText("");
    showJoinForm(true);
  });

  // ---- start ------------------------------------------------------------------------

  showLanguage();

  // The join code may come in the link (http://host:port/#code=maple-otter-42): the
  // part after # never reaches the server. Take it, then clear it from the address
  // bar, so that a projected or shared screen does not show it.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("code")) {
    ui.code.value = fragment.get("code");
    state.code = ui.code.value;
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    ui.code.value = state.code || "";
  }

  if (typeof io !== "function") {
    setStatus(words("noClient"));
    return;
  }
  if (state.joined && state.name) {
    // A reload: resume where this tab was, as a reconnect does.
    showJoinForm(false);
    show(state.shown);
    connect();
  } else {
    setStatus(words("notConnected"));
    showJoinForm(true);
  }
})();
