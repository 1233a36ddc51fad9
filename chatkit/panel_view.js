// The message list and input line of chatkit's ChatPanel (see panel.py), as an anywidget.
// Messages arrive one by one as custom messages, so appending the 5,000th costs what the
// 10th did; the list keeps at most `max_messages` rows. Text is set with textContent,
// never innerHTML: what other people type is data, not markup.

function row(message) {
  const div = document.createElement("div");
  div.className = `chatkit-msg chatkit-${message.kind}`;
  for (const [part, value] of [["time", message.time], ["name", message.name], ["text", message.text]]) {
    if (value === undefined || value === null || value === "") continue;
    const span = document.createElement("span");
    span.className = `chatkit-${part}`;
    span.textContent = value;
    div.append(span);
  }
  return div;
}

export default {
  render({ model, el }) {
    el.classList.add("chatkit-view");
    const log = document.createElement("div");
    log.className = "chatkit-log";
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    const more = document.createElement("button");
    more.className = "chatkit-more";
    more.hidden = true;
    const line = document.createElement("div");
    line.className = "chatkit-line";
    const input = document.createElement("input");
    input.type = "text";
    input.className = "chatkit-input";
    // The view's words come from Python, in chatkit's language (panel.py: ChatView.labels).
    const label = (key, english) => (model.get("labels") || {})[key] || english;
    input.setAttribute("aria-label", label("message", "message"));
    const send = document.createElement("button");
    send.className = "chatkit-send";
    send.textContent = label("send", "Send");
    line.append(input, send);
    el.append(log, more, line);

    let unread = 0;
    const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const showUnread = () => {
      more.hidden = unread === 0;
      more.textContent = unread === 1 ? label("one_new", "1 new message ↓")
        : label("new", "{count} new messages ↓").replace("{count}", unread);
    };
    const trim = () => {
      while (log.childElementCount > model.get("max_messages")) log.firstElementChild.remove();
    };
    const append = (message) => {
      // Your own rows (what you said, what was refused) are not news to you: they bring
      // the list down to the newest row, as sending does in any chat app.
      const own = message.kind === "mine" || message.kind === "refused";
      const stick = nearBottom();
      log.append(row(message));
      trim();
      if (stick || own) log.scrollTop = log.scrollHeight;
      if (own) unread = 0;
      else if (!stick) unread += 1;
      showUnread();
    };
    const reset = (messages) => {
      log.replaceChildren(...messages.map(row));
      log.scrollTop = log.scrollHeight;
      unread = 0;
      showUnread();
    };
    more.addEventListener("click", () => { log.scrollTop = log.scrollHeight; });
    log.addEventListener("scroll", () => { if (nearBottom()) { unread = 0; showUnread(); } });

    let drawn = false; // every view hears the answer to any view's "sync": take it once
    const onCustom = (msg) => {
      if (msg.type === "append") append(msg.message);
      else if (msg.type === "reset") { reset(msg.messages); drawn = true; }
      else if (msg.type === "history" && !drawn) { reset(msg.messages); drawn = true; }
      else if (msg.type === "sent" && input.value === msg.text) {  // acked: clear the line
        input.value = "";
        model.set("draft", "");
        model.save_changes();
      }
    };
    model.on("msg:custom", onCustom);

    const syncSettings = () => {
      input.placeholder = model.get("placeholder");
      input.maxLength = model.get("max_length");
      input.disabled = send.disabled = !model.get("enabled");
    };
    const syncDraft = () => { if (input.value !== model.get("draft")) input.value = model.get("draft"); };
    model.on("change:placeholder change:max_length change:enabled", syncSettings);
    model.on("change:draft", syncDraft);
    syncSettings();
    syncDraft();

    // The text travels in the submit message itself: state updates may be held back by
    // ipywidgets' message throttle, and a custom message would overtake them.
    const submit = () => model.send({ type: "submit", text: input.value });
    input.addEventListener("input", () => { model.set("draft", input.value); model.save_changes(); });
    input.addEventListener("keydown", (event) => {
      event.stopPropagation(); // keep JupyterLab's notebook shortcuts out of the chat line
      if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); submit(); }
    });
    send.addEventListener("click", submit);

    model.send({ type: "sync" }); // ask the kernel for the messages so far
    return () => {
      model.off("msg:custom", onCustom);
      model.off("change:placeholder change:max_length change:enabled", syncSettings);
      model.off("change:draft", syncDraft);
    };
  },
};
