// Canned replies in the composer: typing "/" and a shortcut pops up the matching saved replies;
// arrow keys move, Enter or Tab inserts (filled in for the open conversation by the server),
// Escape closes. Loaded before composer.js: its keys are taken before a reply or note is sent.
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var form = document.getElementById("composer");
  var text = document.getElementById("composer-text");
  var popup = el("ul", { id: "canned-popup", className: "canned-popup", role: "listbox", "aria-label": "Canned replies", hidden: true });
  form.appendChild(popup);
  text.setAttribute("aria-autocomplete", "list");
  text.setAttribute("aria-controls", "canned-popup");

  var cache = { id: null, replies: null, pending: null };
  var shown = [];   // the replies in the popup
  var active = 0;   // the highlighted one
  var token = null; // {start, end} of "/query" in the textarea

  function conversationId() { return window.InboxPage ? InboxPage.view.openId : null; }

  function replies() {
    var id = conversationId();
    if (!id) return Promise.resolve([]);
    if (cache.id === id && cache.replies) return Promise.resolve(cache.replies);
    if (cache.id === id && cache.pending) return cache.pending;
    cache = { id: id, replies: null, pending: null };
    cache.pending = api("GET", "conversations/" + id + "/canned-replies").then(function (data) {
      if (cache.id === id) cache.replies = data.replies;
      return data.replies;
    }, function () { cache = { id: null, replies: null, pending: null }; return []; });
    return cache.pending;
  }

  // "/ref" right before the caret, at the start or after a space: what the agent is looking for.
  function currentToken() {
    var caret = text.selectionStart;
    if (caret !== text.selectionEnd) return null;
    var found = /(^|\s)\/([a-z0-9_-]{0,32})$/i.exec(text.value.slice(0, caret));
    if (!found) return null;
    return { start: caret - found[2].length - 1, end: caret, query: found[2].toLowerCase() };
  }

  function close() {
    token = null;
    shown = [];
    Inbox.show(popup, false);
    text.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = (index + shown.length) % shown.length;
    popup.querySelectorAll(".canned-option").forEach(function (node, i) {
      node.setAttribute("aria-selected", String(i === active));
      if (i === active) {
        text.setAttribute("aria-activedescendant", node.id);
        node.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function render(query) {
    clear(popup);
    if (!shown.length) {
      popup.appendChild(el("li", { className: "canned-none muted", text: query ?
        "No canned reply starts with /" + query + "." : "No canned replies yet: admins add them in Settings." }));
    }
    shown.forEach(function (reply, i) {
      popup.appendChild(el("li", {
        id: "canned-option-" + i, className: "canned-option", role: "option", dataset: { shortcut: reply.shortcut },
        onmousedown: function (event) { event.preventDefault(); insert(reply); }
      },
        el("span", { className: "canned-head" },
          el("code", { text: "/" + reply.shortcut }),
          el("span", { className: "canned-title", text: reply.title })),
        el("span", { className: "canned-preview", text: reply.text })));
    });
    Inbox.show(popup, true);
    if (shown.length) highlight(0);
  }

  var asked = 0;           // the newest update(): an older one's late answer is dropped
  var startedAt = null;    // where the "/" being typed is
  var dismissedAt = null;  // the "/" whose list Escape closed: it stays closed

  async function update() {
    var mine = ++asked;
    var found = currentToken();
    if (!found) { startedAt = dismissedAt = null; close(); return; }
    if (found.start !== startedAt) {  // a new "/": fresh replies (an admin may have added some)
      startedAt = found.start;
      dismissedAt = null;
      cache = { id: null, replies: null, pending: null };
    }
    if (found.start === dismissedAt) return;
    var all = await replies();
    found = currentToken();  // the agent may have typed on meanwhile
    if (mine !== asked || !found || found.start === dismissedAt) return;
    token = found;
    shown = all.filter(function (r) {
      return r.shortcut.indexOf(found.query) === 0 || r.title.toLowerCase().split(/\s+/).some(function (word) {
        return word.indexOf(found.query) === 0;  // or a word of its title
      });
    }).sort(function (a, b) {
      return (b.shortcut.indexOf(found.query) === 0) - (a.shortcut.indexOf(found.query) === 0) ||
        a.shortcut.localeCompare(b.shortcut);
    }).slice(0, 8);
    render(found.query);
  }

  function insert(reply) {
    if (!token) return;
    asked++;  // a lookup still under way must not reopen the list
    var before = text.value.slice(0, token.start), after = text.value.slice(token.end);
    text.value = before + reply.text + after;
    var caret = before.length + reply.text.length;
    text.setSelectionRange(caret, caret);
    close();
    text.focus();
    text.dispatchEvent(new Event("input", { bubbles: true }));
  }

  text.addEventListener("input", update);
  text.addEventListener("click", update);
  text.addEventListener("blur", function () { setTimeout(close, 150); });

  // Taken on the way down (capture on the document), before the reply or note is sent.
  document.addEventListener("keydown", function (event) {
    if (event.target !== text || event.isComposing) return;
    if (popup.hidden) {
      // Enter or Tab on "/greet" before its lookup answered: wait for it and insert the first
      // match, as Enter on the list would (the agent never meant to send "/greet" itself).
      var typed = currentToken();
      if ((event.key !== "Enter" && event.key !== "Tab") || event.shiftKey || !typed ||
          !typed.query || typed.start === dismissedAt) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      update().then(function () { if (!popup.hidden && shown.length) insert(shown[active]); });
      return;
    }
    var handled = true;
    if (event.key === "ArrowDown" && shown.length) highlight(active + 1);
    else if (event.key === "ArrowUp" && shown.length) highlight(active - 1);
    else if ((event.key === "Enter" || event.key === "Tab") && shown.length && !event.shiftKey) insert(shown[active]);
    else if (event.key === "Escape") { dismissedAt = token ? token.start : null; asked++; close(); }
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  window.InboxCanned = {
    // Another conversation opened (visitor, language) or the replies changed: ask again.
    forget: function () { cache = { id: null, replies: null, pending: null }; close(); }
  };
})();
