// The demo page's own script, a static file so the page's Content-Security-Policy can forbid
// inline script. Its settings come from the page's <script type="application/json" id="demo-config">.
(function () {
  "use strict";
  var status = document.getElementById("status");
  if (!window.WebChat) {
    status.textContent = "The rasa-webchat script is missing on this server: run `make webchat`.";
    return;
  }
  var config = JSON.parse(document.getElementById("demo-config").textContent);
  var query = new URLSearchParams(window.location.search);
  var customData = {};
  ["email", "first_name", "last_name", "phone", "language"].forEach(function (key) {
    if (query.get(key)) { customData[key] = query.get(key); }
  });
  var options = {
    socketUrl: window.location.origin,
    socketPath: config.socketPath,
    customData: customData,
    title: config.title,
    subtitle: "Ask me, or ask for a person",
    inputTextFieldHint: "Type a message…",
    params: { storage: "local" },
    customMessageDelay: function () { return 0; },
    showMessageDate: true
  };
  // The adapter (handoff-webchat.js) adds typing indicators and agents' names; ?plain=1 shows
  // the widget as any website without the adapter has it.
  var adapted = window.HandoffWebchat && !query.get("plain");
  window.WebChat.default(adapted ? window.HandoffWebchat.wrap(options) : options, null);
  status.textContent = "The chat is in the bottom right corner.";
})();
