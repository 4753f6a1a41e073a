// rasa-handoff's adapter for rasa-webchat (README, "Typing indicators and who is talking"):
// shows "Ann is typing…" while an agent types, the agent's name (and picture) next to their
// messages, and tells the agent while the visitor types. It only adds socket listeners through the
// widget's `onSocketEvent` prop and reads the widget's DOM; without it rasa-webchat works as before.
//
//   WebChat.default(HandoffWebchat.wrap({socketUrl: ..., socketPath: ..., customData: ...}), null);
//
// Events: `agent_typing {name, typing[, avatar_url]}` from the server; `user_typing {typing}` to
// it. Agent messages carry `metadata.author = "agent"`, `metadata.agent_name` and, if the agent set
// one, `metadata.agent_avatar_url`. Server data is only ever put into the page as text or as an
// image address, never as HTML.
(function () {
  "use strict";
  var TEXTS = {  // "{name} is typing…" in the visitor's language (customData.language)
    en: "{name} is typing…",
    de: "{name} schreibt gerade …",
    fr: "{name} est en train d’écrire…",
    es: "{name} está escribiendo…"
  };
  var REFRESH_MS = 2000;  // the visitor's "still typing" at most this often
  var IDLE_MS = 3000;     // no keystroke this long: the visitor stopped
  var SHOWN_MS = 6000;    // the agent's indicator without a refresh: gone
  var KEPT = 200;         // agent messages remembered for labels after a reload
  var STORE = "handoff-webchat-agents";
  var CSS =
    ".hw-typing{font:italic 12px Inter,sans-serif;color:#6b7280;padding:4px 16px;background:#fff}" +
    ".hw-typing[hidden]{display:none}" +
    ".rw-message.hw-by-agent{flex-wrap:wrap}" +
    ".hw-agent{flex-basis:100%;display:flex;align-items:center;gap:6px;margin:2px 0 3px;" +
    "font:600 11px Inter,sans-serif;color:#4b5563}" +
    ".hw-agent img{width:20px;height:20px;border-radius:50%;object-fit:cover}";

  var socket = null;
  var language = "en";
  var known = load();

  function load() {
    try { return JSON.parse(window.localStorage.getItem(STORE) || "[]") || []; } catch (e) { return []; }
  }
  function save() {
    try { window.localStorage.setItem(STORE, JSON.stringify(known.slice(-KEPT))); } catch (e) { /* full */ }
  }
  function normalized(text) { return String(text || "").replace(/\s+/g, " ").trim(); }
  function safeUrl(value) { return /^https?:\/\//i.test(String(value || "")) ? String(value) : null; }
  function grab(candidate) { if (candidate && typeof candidate.emit === "function") socket = candidate; }

  // --- the visitor types: user_typing to the server ---
  var typing = false, lastSent = 0, idleTimer = null;
  function sendTyping(value) {
    if (socket) socket.emit("user_typing", { typing: value });
  }
  function stopTyping() {
    clearTimeout(idleTimer);
    idleTimer = null;
    if (!typing) return;
    typing = false;
    lastSent = 0;
    sendTyping(false);
  }
  function visitorTyped(field) {
    if (!normalized(field.value)) { stopTyping(); return; }
    if (!typing || Date.now() - lastSent >= REFRESH_MS) {
      typing = true;
      lastSent = Date.now();
      sendTyping(true);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, IDLE_MS);
  }
  function isComposer(node) { return node && node.classList && node.classList.contains("rw-new-message"); }
  function listenToComposer() {
    document.addEventListener("input", function (event) { if (isComposer(event.target)) visitorTyped(event.target); }, true);
    document.addEventListener("focusout", function (event) { if (isComposer(event.target)) stopTyping(); }, true);
    document.addEventListener("keydown", function (event) {
      if (isComposer(event.target) && event.key === "Enter" && !event.shiftKey) stopTyping();
    }, true);
    document.addEventListener("click", function (event) {
      if (event.target && event.target.closest && event.target.closest(".rw-send")) stopTyping();
    }, true);
  }

  // --- the agent types: "Ann is typing…" between the messages and the text field ---
  var indicator = null, hideTimer = null;
  function showTyping(data) {
    var container = document.querySelector(".rw-messages-container");
    if (!container) return;
    if (!indicator || !indicator.isConnected) {
      indicator = document.createElement("div");
      indicator.className = "hw-typing";
      indicator.setAttribute("role", "status");
      indicator.hidden = true;
      container.parentNode.insertBefore(indicator, container.nextSibling);
    }
    clearTimeout(hideTimer);
    if (!data || !data.typing) { indicator.hidden = true; return; }
    var name = normalized(data.name) || "…";
    indicator.textContent = (TEXTS[language] || TEXTS.en).replace("{name}", name);
    indicator.hidden = false;
    hideTimer = setTimeout(function () { indicator.hidden = true; }, SHOWN_MS);
  }

  // --- who is talking: the agent's name (and picture) above their messages ---
  function remember(payload) {
    var meta = (payload && payload.metadata) || {};
    if (meta.author !== "agent" || typeof payload.text !== "string") return false;
    known.push({ text: normalized(payload.text), name: normalized(meta.agent_name), avatar: safeUrl(meta.agent_avatar_url) });
    save();
    return true;
  }
  function agentOf(text) {
    for (var i = known.length - 1; i >= 0; i--) { if (known[i].text === text) return known[i]; }
    return null;
  }
  function label(response) {
    if (response.dataset.hwChecked) return;
    response.dataset.hwChecked = "1";
    var textNode = response.querySelector(".rw-message-text") || response;
    var agent = agentOf(normalized(textNode.textContent));
    var message = response.closest(".rw-message");
    if (!agent || !agent.name || !message) return;
    var tag = document.createElement("div");
    tag.className = "hw-agent";
    if (agent.avatar) {
      var img = document.createElement("img");
      img.alt = "";
      img.src = agent.avatar;
      tag.appendChild(img);
    }
    var name = document.createElement("span");
    name.textContent = agent.name;
    tag.appendChild(name);
    message.classList.add("hw-by-agent");
    message.insertBefore(tag, message.firstChild);
  }
  function labelAll() {
    document.querySelectorAll(".rw-messages-container .rw-response").forEach(label);
  }
  function reset() {  // a new agent message may match a bubble checked before it arrived
    document.querySelectorAll(".rw-response[data-hw-checked]").forEach(function (node) {
      if (!node.closest(".hw-by-agent")) delete node.dataset.hwChecked;
    });
  }

  var started = false;
  function start() {
    if (started) return;
    started = true;
    var style = document.createElement("style");
    style.textContent = CSS;
    document.head.appendChild(style);
    listenToComposer();
    new MutationObserver(labelAll).observe(document.body, { childList: true, subtree: true });
    labelAll();
  }

  function chain(own, extra) {  // the host page's handler for the same event still runs
    return function () {
      extra.apply(this, arguments);
      if (typeof own === "function") own.apply(this, arguments);
    };
  }

  window.HandoffWebchat = {
    texts: TEXTS,
    // The widget's options with this adapter's socket listeners added (the page's own kept).
    wrap: function (options) {
      var copy = {};
      Object.keys(options || {}).forEach(function (key) { copy[key] = options[key]; });
      var data = copy.customData || {};
      language = String(data.language || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
      var own = copy.onSocketEvent || {};
      var events = {};
      Object.keys(own).forEach(function (key) { events[key] = own[key]; });
      // socket.io calls listeners with the socket as `this`: that is how `user_typing` is sent.
      // (Not `session_confirm`: rasa-webchat 1.0.1 then never shows its launcher.)
      events.connect = chain(own.connect, function () { grab(this); });
      events.agent_typing = chain(own.agent_typing, function (data) { grab(this); showTyping(data); });
      events.bot_uttered = chain(own.bot_uttered, function (payload) {
        grab(this);
        if (remember(payload)) { showTyping(null); reset(); labelAll(); }
      });
      copy.onSocketEvent = events;
      if (document.body) start();
      else document.addEventListener("DOMContentLoaded", start);
      return copy;
    }
  };
})();
