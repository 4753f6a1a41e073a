// Settings: the Canned replies tab. Every agent sees the replies; admins add, edit and delete them
// (the server refuses changes by agents anyway, and says why a reply is refused).
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var main = document.querySelector("main.settings");
  var isAdmin = main.dataset.admin === "true";
  var status = document.getElementById("settings-status");
  var list = document.getElementById("canned-list");
  var form = document.getElementById("canned-form");  // admins only
  var editing = null;  // the reply being edited, or null: adding one

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "ok");
    Inbox.show(status, Boolean(text));
  }

  function row(reply) {
    var actions = isAdmin ? el("td", { className: "nowrap" },
      el("button", { type: "button", className: "secondary", text: "Edit", onclick: function () { edit(reply); } }), " ",
      el("button", { type: "button", className: "danger", text: "Delete", onclick: function () { remove(reply); } })) : null;
    return el("tr", { dataset: { replyId: String(reply.id), shortcut: reply.shortcut } },
      el("td", null, el("code", { text: "/" + reply.shortcut })),
      el("td", { text: reply.language }),
      el("td", { text: reply.title }),
      el("td", { className: "canned-text", text: reply.text }),
      actions);
  }

  async function load() {
    try {
      var data = await api("GET", "canned-replies");
      clear(list);
      data.replies.forEach(function (reply) { list.appendChild(row(reply)); });
      Inbox.show(document.getElementById("canned-empty"), !data.replies.length);
      if (form) fillLanguages(data.languages, data.default_language);
    } catch (e) {
      say(e.message, "error");
    }
  }

  if (!form) {
    document.addEventListener("settings-tab", function (event) { if (event.detail === "canned") load(); });
    return;
  }

  var language = document.getElementById("canned-language");
  var shortcut = document.getElementById("canned-shortcut");
  var title = document.getElementById("canned-title");
  var text = document.getElementById("canned-text");
  var save = document.getElementById("canned-save");
  var cancel = document.getElementById("canned-cancel");

  function fillLanguages(languages, fallback) {
    var chosen = language.value || fallback;
    clear(language);
    languages.forEach(function (code) {
      language.appendChild(el("option", { value: code, text: code, selected: code === chosen }));
    });
  }

  function clearErrors() {
    form.querySelectorAll(".field-error, .form-error").forEach(function (node) { node.textContent = ""; Inbox.show(node, false); });
    form.querySelectorAll(".field.invalid").forEach(function (node) { node.classList.remove("invalid"); });
  }

  function showError(error) {
    var field = error.field && form.querySelector('[data-field="' + error.field + '"]');
    var target = field ? field.querySelector(".field-error") : form.querySelector(".form-error");
    if (field) field.classList.add("invalid");
    target.textContent = error.message;
    Inbox.show(target, true);
    say("Not saved: " + error.message, "error");
  }

  function reset() {
    editing = null;
    form.reset();
    clearErrors();
    document.getElementById("canned-form-title").textContent = "Add a canned reply";
    save.textContent = "Add reply";
    Inbox.show(cancel, false);
  }

  function edit(reply) {
    reset();
    editing = reply;
    language.value = reply.language;
    shortcut.value = reply.shortcut;
    title.value = reply.title;
    text.value = reply.text;
    document.getElementById("canned-form-title").textContent = "Edit /" + reply.shortcut;
    save.textContent = "Save reply";
    Inbox.show(cancel, true);
    shortcut.focus();
  }

  async function remove(reply) {
    if (!window.confirm("Delete the canned reply /" + reply.shortcut + " (" + reply.language + ")?")) return;
    try {
      await api("DELETE", "canned-replies/" + reply.id);
      say("Deleted /" + reply.shortcut + ".");
      if (editing && editing.id === reply.id) reset();
      load();
    } catch (e) {
      say(e.message, "error");
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearErrors();
    var body = { language: language.value, shortcut: shortcut.value.trim(), title: title.value.trim(), text: text.value };
    try {
      var saved = editing ?
        await api("PUT", "canned-replies/" + editing.id, body) :
        await api("POST", "canned-replies", body);
      say("Saved /" + saved.reply.shortcut + " (" + saved.reply.language + ").");
      reset();
      load();
    } catch (e) {
      showError(e);
    }
  });
  cancel.addEventListener("click", reset);

  document.addEventListener("settings-tab", function (event) { if (event.detail === "canned") load(); });
})();
