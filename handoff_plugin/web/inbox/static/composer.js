// The composer's two modes: Reply (to the visitor, the default) and Note (an internal note only
// agents see). Note mode changes the composer's colour, placeholder, hint and button, and goes
// back to Reply after a note is added or another conversation is opened.
(function () {
  "use strict";
  var api = Inbox.api;
  var form = document.getElementById("composer");
  var text = document.getElementById("composer-text");
  var button = document.getElementById("send");
  var hint = document.getElementById("composer-hint");
  var error = document.getElementById("composer-error");
  var modes = document.querySelectorAll(".composer-mode");
  var REPLY = { placeholder: text.getAttribute("placeholder"), label: text.getAttribute("aria-label"), button: button.textContent };
  var NOTE = {
    placeholder: "Write an internal note: only your teammates see it…",
    label: "Internal note for your teammates",
    button: "Add note",
    hint: "Internal note: only agents see it. The visitor is not told, and the conversation stays as it is."
  };
  var mode = "reply";

  function handledByOther() {
    var open = window.InboxPage && InboxPage.view.open;
    var assignee = open && open.conversation.assignee;
    return !!(assignee && assignee.id !== Inbox.agentId);
  }

  function setMode(next, reload) {
    if (next === mode) return;
    mode = next;
    var note = mode === "note";
    form.classList.toggle("composer-note", note);
    modes.forEach(function (b) { b.setAttribute("aria-checked", String(b.dataset.mode === mode)); });
    text.placeholder = note ? NOTE.placeholder : REPLY.placeholder;
    text.setAttribute("aria-label", note ? NOTE.label : REPLY.label);
    button.textContent = note ? NOTE.button : REPLY.button;
    Inbox.show(error, false);
    if (note) {
      hint.textContent = NOTE.hint;
      text.disabled = false;  // a note may be left on a conversation someone else handles
      button.disabled = false;
    } else {
      text.disabled = handledByOther();
      button.disabled = text.disabled;
      if (reload && window.InboxPage) InboxPage.reload();  // the reply hint for this conversation
    }
  }

  modes.forEach(function (b) {
    b.addEventListener("click", function () { setMode(b.dataset.mode, true); text.focus(); });
  });

  async function addNote() {
    var body = text.value.trim();
    if (!body || !InboxPage.view.openId) return;
    button.disabled = true;
    Inbox.show(error, false);
    try {
      await api("POST", "conversations/" + InboxPage.view.openId + "/notes", { text: body });
      text.value = "";
      setMode("reply", false);
      await InboxPage.reload();
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
    } finally {
      button.disabled = text.disabled;
      text.focus();
    }
  }

  // Caught on the way down (capture on the document), before inbox.js sends a reply.
  document.addEventListener("submit", function (event) {
    if (event.target !== form || mode !== "note") return;
    event.preventDefault();
    event.stopPropagation();
    addNote();
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.target !== text || mode !== "note" || event.defaultPrevented) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      event.stopPropagation();
      addNote();
    }
  }, true);

  window.InboxComposer = {
    mode: function () { return mode; },
    setMode: function (next) { setMode(next, true); },
    reset: function () { setMode("reply", false); },
    // inbox.js rendered the open conversation (its hint and whether replying is allowed).
    rendered: function () {
      if (mode !== "note") return;
      hint.textContent = NOTE.hint;
      text.disabled = false;
      button.disabled = false;
    }
  };
})();
