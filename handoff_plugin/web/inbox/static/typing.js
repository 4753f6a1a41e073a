// Typing indicators in the open conversation (README, "Typing indicators"). The agent's keystrokes
// in the composer are reported with POST conversations/{id}/typing: a start, a refresh every few
// seconds while typing, and a stop on send, on blur and after a few seconds without keystrokes.
// The visitor's typing arrives as `typing` events on the live stream and shows "typing…" under the
// transcript until they stop, send, or go quiet. Visitor-supplied data is never put in as HTML.
(function () {
  "use strict";
  var REFRESH_MS = 3000;  // a "still typing" at most this often
  var IDLE_MS = 4000;     // no keystroke this long: stopped
  var SHOWN_MS = 6000;    // the visitor's indicator without a refresh: gone
  var page = window.InboxPage;
  var composer = document.getElementById("composer");
  var composerText = document.getElementById("composer-text");
  var transcript = document.getElementById("transcript");
  if (!page || !composer || !composerText || !transcript) return;
  var view = page.view;

  // --- mine: reported to the visitor ---
  var typingIn = null, lastSent = 0, idleTimer = null, refused = null;
  function report(id, typing) {
    Inbox.api("POST", "conversations/" + id + "/typing", { typing: typing }).catch(function (e) {
      if (e.status === 404 || e.status === 409) refused = id;  // not mine to answer: stay quiet
    });
  }
  function stop() {
    clearTimeout(idleTimer);
    idleTimer = null;
    if (typingIn === null) return;
    var id = typingIn;
    typingIn = null;
    lastSent = 0;
    report(id, false);
  }
  function typed() {
    var id = view.openId;
    if (!id || refused === id) return;
    if (!composerText.value.trim()) { stop(); return; }
    if (typingIn !== null && typingIn !== id) stop();
    if (typingIn !== id || Date.now() - lastSent >= REFRESH_MS) {
      typingIn = id;
      lastSent = Date.now();
      report(id, true);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stop, IDLE_MS);
  }
  composerText.addEventListener("input", typed);
  composerText.addEventListener("blur", stop);
  composer.addEventListener("submit", stop);
  composerText.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) stop();
  });

  // --- the visitor's: "typing…" under the transcript ---
  var indicator = Inbox.el("p", { id: "visitor-typing", className: "typing-indicator", role: "status", hidden: true });
  transcript.parentNode.insertBefore(indicator, transcript.nextSibling);
  var shownFor = null, hideTimer = null;
  function hide() {
    clearTimeout(hideTimer);
    shownFor = null;
    indicator.hidden = true;
  }
  function onTyping(event) {
    var data;
    try { data = JSON.parse(event.data || "{}"); } catch (e) { return; }
    if (data.agent) return;  // an agent's typing is for the visitor
    var id = Number(data.conversation_id);
    if (id !== view.openId) return;
    if (!data.typing) { hide(); return; }
    indicator.textContent = "The visitor is typing…";
    indicator.hidden = false;
    shownFor = id;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, SHOWN_MS);
  }
  function onMessage(event) {
    var data;
    try { data = JSON.parse(event.data || "{}"); } catch (e) { return; }
    if (data.author === "visitor" && Number(data.conversation_id) === shownFor) hide();
  }
  setInterval(function () {  // another conversation was opened
    if (shownFor !== null && shownFor !== view.openId) hide();
    if (refused !== null && refused !== view.openId) refused = null;
  }, 500);

  function attach(source) {
    if (!source || source.handoffTyping) return;
    source.handoffTyping = true;
    source.addEventListener("typing", onTyping);
    source.addEventListener("message", onMessage);
  }
  attach(page.source());
  document.addEventListener("inbox:stream", function (event) { attach(event.detail); });
})();
