// Desktop alerts while the inbox tab is in the background: a browser notification (and, if the
// agent turned it on, a short sound) for a new escalation or a visitor message in a conversation
// assigned to me, and the number of them in the tab title, "(3) Inbox", until the agent looks.
// Permission is asked once, from a small bar the agent clicks (never on page load); the choice is
// remembered in localStorage.
(function () {
  "use strict";
  var api = Inbox.api;
  var KEY = "handoff.alerts";          // "asked" | "dismissed": the bar is not shown again
  var SOUND = "handoff.alerts.sound";  // "on" | absent (off by default)
  var bar = document.getElementById("alerts-bar");
  var enable = document.getElementById("alerts-enable");
  var dismiss = document.getElementById("alerts-dismiss");
  var soundBox = document.getElementById("alerts-sound");
  var soundLabel = document.getElementById("alerts-sound-label");
  var supported = typeof window.Notification === "function";
  var mine = {};    // ids of the conversations assigned to me
  var unread = 0;   // alerts since the agent last looked
  var baseTitle = document.title;
  var ourTitle = null;

  function stored(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function store(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } }

  function permission() { return supported ? window.Notification.permission : "unsupported"; }

  function showControls() {
    var granted = permission() === "granted";
    Inbox.show(bar, supported && permission() === "default" && !stored(KEY));
    Inbox.show(soundLabel, granted);
    soundBox.checked = stored(SOUND) === "on";
  }

  enable.addEventListener("click", async function () {
    store(KEY, "asked");
    try { await window.Notification.requestPermission(); } catch (e) { /* refused */ }
    showControls();
  });
  dismiss.addEventListener("click", function () { store(KEY, "dismissed"); showControls(); });
  soundBox.addEventListener("change", function () {
    if (soundBox.checked) store(SOUND, "on"); else window.localStorage.removeItem(SOUND);
  });

  // --- is the agent looking? ---

  function looking() { return document.visibilityState === "visible" && document.hasFocus(); }

  function setTitle() {
    ourTitle = unread ? "(" + unread + ") Inbox · " + Inbox.chatbotName : null;
    document.title = ourTitle || baseTitle;
  }
  // inbox.js keeps its own title (the waiting count): remember it, and keep ours over it.
  new MutationObserver(function () {
    if (document.title === ourTitle) return;
    baseTitle = document.title;
    if (ourTitle) document.title = ourTitle;
  }).observe(document.querySelector("title"), { childList: true, characterData: true, subtree: true });

  function seen() {
    if (!looking() || !unread) return;
    unread = 0;
    setTitle();
  }
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);

  // --- alerts ---

  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* no sound here */ }
  }

  function alert(title, body, conversationId) {
    if (looking()) return;
    unread += 1;
    setTitle();
    if (permission() === "granted") {
      try {
        var shown = new window.Notification(title, { body: body, tag: "handoff-" + conversationId });
        shown.onclick = function () {
          window.focus();
          window.location.href = Inbox.base + "/conversations/" + conversationId;
          if (shown.close) shown.close();
        };
      } catch (e) { /* e.g. a browser that only notifies from a service worker */ }
    }
    if (stored(SOUND) === "on") beep();
  }

  async function loadMine() {
    try {
      var data = await api("GET", "conversations?status=mine&limit=200");
      mine = {};
      data.conversations.forEach(function (c) { mine[c.id] = true; });
    } catch (e) { /* keep what we knew */ }
  }

  function clip(text) {
    text = String(text || "");
    return text.length > 140 ? text.slice(0, 139) + "…" : text;
  }

  // Called by inbox.js for every live event (SSE): type and parsed data.
  function onEvent(type, data) {
    if (type === "assignment") {
      if (data.assignee && data.assignee.id === Inbox.agentId) mine[data.conversation_id] = true;
      else delete mine[data.conversation_id];
    } else if (type === "state" && data.state === "escalated") {
      alert("A visitor needs an agent", "New escalation in conversation #" + data.conversation_id + ".", data.conversation_id);
    } else if (type === "message" && data.author === "visitor" && mine[data.conversation_id]) {
      alert("New message from your visitor", clip(data.text || "[attachment]"), data.conversation_id);
    }
  }

  window.InboxAlerts = { event: onEvent, unread: function () { return unread; } };
  showControls();
  loadMine();
})();
