// The conversation list, one conversation, and live updates (Server-Sent Events).
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var root = document.getElementById("inbox");
  var list = document.getElementById("conversation-list");
  var STATE_LABELS = { bot: "Bot", escalated: "Waiting for an agent", live: "Live chat" };
  var TAB_TITLES = { waiting: "Waiting", live: "Live", mine: "Mine", all: "All" };
  var me = Inbox.agentId;

  var params = new URLSearchParams(window.location.search);
  var view = {
    earlier: [],  // older transcript pages loaded with "Load earlier", oldest first
    olderCursor: null,
    status: params.get("status") || "waiting",
    q: "",
    cursor: null,
    loaded: 0,
    openId: Number(root.dataset.conversationId) || null,
    open: null,       // the open conversation's data
    waiting: 0
  };

  // --- the list ---

  function summaryItem(c) {
    var who = el("span", { className: "who", text: c.title });
    var when = el("time", { className: "when", datetime: c.last_activity_at, text: Inbox.time(c.last_activity_at) });
    var badge = c.state === "bot" ? null : el("span", { className: "state state-" + c.state, text: c.state === "escalated" ? "Waiting" : "Live" });
    var preview = el("span", { className: "preview", text: c.last_message || "" });
    var assignee = c.assignee ? el("span", { className: "assignee", text: c.assignee.id === me ? "You" : c.assignee.name }) : null;
    var wait = c.waiting_since ? el("span", { className: "wait", dataset: { since: c.waiting_since }, text: waited(c.waiting_since) }) : null;
    var link = el("a", {
      href: Inbox.base + "/conversations/" + c.id,
      className: "conversation-link",
      dataset: { id: String(c.id) },
      onclick: function (event) {
        if (event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        openConversation(c.id, true);
      }
    }, el("span", { className: "line" }, who, when), el("span", { className: "line" }, preview, wait, assignee, badge));
    var item = el("li", { className: "conversation-item" + (c.unread ? " unread" : "") + (c.id === view.openId ? " active" : ""), dataset: { id: String(c.id), state: c.state } }, link);
    if (c.unread) link.appendChild(el("span", { className: "unread-dot", title: "Unread", "aria-label": "unread" }));
    return item;
  }

  // How long a waiting visitor has waited ("3 min"), kept current while the page is open.
  function waited(since) {
    var minutes = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60000));
    if (minutes < 1) return "just now";
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    return hours < 48 ? hours + " h " + (minutes % 60) + " min" : Math.floor(hours / 24) + " days";
  }
  setInterval(function () {
    document.querySelectorAll(".conversation-item .wait").forEach(function (node) {
      node.textContent = waited(node.dataset.since);
    });
  }, 30000);

  function setCounts(counts) {
    view.waiting = counts.waiting;
    document.getElementById("count-waiting").textContent = counts.waiting ? String(counts.waiting) : "";
    document.getElementById("count-live").textContent = counts.live ? String(counts.live) : "";
    document.getElementById("count-mine").textContent = counts.mine ? String(counts.mine) : "";
    var title = "Conversations · " + Inbox.chatbotName;
    document.title = counts.waiting ? "(" + counts.waiting + ") " + title : title;
  }

  var listRequest = 0;
  async function loadList(more) {
    var mine = ++listRequest;
    var query = new URLSearchParams({ status: view.status });
    if (view.q) query.set("q", view.q);
    if (more && view.cursor) query.set("cursor", view.cursor);
    if (!more) query.set("limit", String(Math.min(200, Math.max(50, view.loaded))));
    var data;
    try {
      data = await api("GET", "conversations?" + query.toString());
    } catch (e) {
      if (mine === listRequest) showListError(e.message);
      return;
    }
    if (mine !== listRequest) return;  // a newer request answers instead
    if (!more) { clear(list); view.loaded = 0; }
    data.conversations.forEach(function (c) { list.appendChild(summaryItem(c)); });
    view.loaded += data.conversations.length;
    view.cursor = data.next_cursor;
    setCounts(data.counts);
    Inbox.show(document.getElementById("load-more"), Boolean(data.next_cursor));
    var empty = document.getElementById("list-empty");
    empty.textContent = view.q ? "No conversations match “" + view.q + "”." : "No conversations here.";
    Inbox.show(empty, view.loaded === 0);
  }

  function showListError(message) {
    clear(list);
    list.appendChild(el("li", { className: "error", text: message }));
  }

  function selectTab(status) {
    view.status = status;
    document.querySelectorAll(".list-pane .tabs [data-status]").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(tab.dataset.status === status));
    });
    view.cursor = null; view.loaded = 0;
    loadList(false);
  }

  document.querySelectorAll(".list-pane .tabs [data-status]").forEach(function (tab) {
    tab.addEventListener("click", function () { selectTab(tab.dataset.status); });
  });
  document.getElementById("load-more").addEventListener("click", function () { loadList(true); });
  var searchTimer = null;
  var searchInput = document.getElementById("search-input");
  searchInput.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { view.q = searchInput.value.trim(); view.loaded = 0; loadList(false); }, 250);
  });
  document.getElementById("search").addEventListener("submit", function (event) {
    event.preventDefault();
    view.q = searchInput.value.trim(); view.loaded = 0; loadList(false);
  });

  // --- one conversation ---

  var composer = document.getElementById("composer");
  var composerText = document.getElementById("composer-text");

  function authorLabel(item, visitorName) {
    if (item.author === "visitor") return visitorName;
    if (item.author === "agent") return item.agent ? item.agent.name : "Agent";
    if (item.author === "bot") return Inbox.chatbotName + " (bot)";
    return "";
  }

  function buttonsOf(payload) {
    if (!payload || !Array.isArray(payload.buttons)) return null;
    var row = el("span", { className: "buttons" });
    payload.buttons.forEach(function (b) { row.appendChild(el("span", { className: "chip", text: String(b.title || b.payload || "") })); });
    return row;
  }

  function timelineItem(item, visitorName) {
    if (item.type === "note") return noteItem(item);
    if (item.type === "escalation") {
      return el("li", { className: "marker marker-escalation" },
        el("span", { className: "marker-title", text: "Escalated · " + item.trigger_label }),
        el("time", { text: " · " + Inbox.time(item.created_at), datetime: item.created_at }),
        item.message ? el("q", { text: item.message }) : null);
    }
    if (item.type === "live.started" || item.type === "live.ended") {
      var what = item.type === "live.started" ? "Live chat started" : "Live chat ended";
      var by = item.agent ? " by " + item.agent : "";
      if (item.reason && item.reason.reason === "idle") {
        by = ": the visitor wrote nothing for " + item.reason.minutes + " minutes";
      }
      return el("li", { className: "marker marker-" + item.type.replace(".", "-") },
        el("span", { className: "marker-title", text: what + by }),
        el("time", { text: " · " + Inbox.time(item.created_at), datetime: item.created_at }));
    }
    if (item.author === "system") {
      return el("li", { className: "message message-system", dataset: { seq: String(item.seq) } },
        el("span", { className: "text", text: item.text || "" }),
        el("time", { text: Inbox.time(item.created_at), datetime: item.created_at }));
    }
    var text = item.text || (item.payload ? "[" + Object.keys(item.payload).join(", ") + "]" : "");
    return el("li", { className: "message message-" + item.author, dataset: { seq: String(item.seq) } },
      el("span", { className: "meta" },
        el("span", { className: "author", text: authorLabel(item, visitorName) }),
        el("time", { text: Inbox.time(item.created_at), datetime: item.created_at })),
      el("span", { className: "bubble" }, el("span", { className: "text", text: text }), buttonsOf(item.payload)));
  }

  // An agent's internal note: only agents see it (never sent to the visitor).
  function noteItem(item) {
    return el("li", { className: "note", dataset: { noteId: String(item.id) } },
      el("span", { className: "meta" },
        el("span", { className: "note-label", text: "Internal note" }),
        el("span", { className: "author", text: item.agent ? item.agent.name : "Agent" }),
        el("time", { text: Inbox.time(item.created_at), datetime: item.created_at })),
      el("span", { className: "note-text", text: item.text }));
  }

  function detail(label, value) {
    return [el("dt", { text: label }), el("dd", { text: value || "—" })];
  }

  function renderVisitor(data) {
    var pane = document.getElementById("visitor-pane");
    var details = document.getElementById("visitor-details");
    clear(details);
    var v = data.visitor || {};
    [
      ["Email", v.email], ["Name", v.name], ["Phone", v.phone],
      ["Channel", data.conversation.channel], ["First seen", Inbox.dateTime(data.first_seen)],
      ["Conversation", "#" + data.conversation.id]
    ].forEach(function (pair) { detail(pair[0], pair[1]).forEach(function (n) { details.appendChild(n); }); });
    var escalations = document.getElementById("visitor-escalations");
    clear(escalations);
    if (!data.visitor_escalations.length) escalations.appendChild(el("li", { className: "muted", text: "None" }));
    data.visitor_escalations.forEach(function (e) {
      var here = e.conversation_id === data.conversation.id;
      var head = el("span", { className: "line" },
        el("span", { text: Inbox.dateTime(e.created_at) }),
        el("span", { className: "tag tag-" + e.trigger, text: e.trigger_label }));
      var body = e.message ? el("q", { text: e.message }) : null;
      var link = here ? el("span", { className: "muted", text: "this conversation" }) :
        el("a", { href: Inbox.base + "/conversations/" + e.conversation_id, text: "conversation #" + e.conversation_id });
      escalations.appendChild(el("li", null, head, body, link));
    });
    Inbox.show(pane, true);
  }

  function renderConversation(data, keepScroll) {
    view.open = data;
    var c = data.conversation;
    document.getElementById("conversation-title").textContent = c.title;
    var state = document.getElementById("conversation-state");
    state.textContent = STATE_LABELS[c.state] || c.state;
    state.className = "state state-" + c.state;
    var other = c.assignee && c.assignee.id !== me;  // another agent handles it
    Inbox.show(document.getElementById("end-live-chat"), c.state === "live" && !other);
    renderAssignment(c, data.assignment);
    composerText.disabled = !!other;
    document.getElementById("send").disabled = !!other;
    document.getElementById("composer-hint").textContent = other ?
      c.assignee.name + " is handling this conversation. Take it over to answer." :
      c.state === "live" ?
      "You are in live chat: the bot is silent until you end it." :
      "Sending a message starts live chat and makes it yours: the visitor is told you joined and the bot stops answering.";
    var transcript = document.getElementById("transcript");
    var atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    clear(transcript);
    var visitorName = c.title;  // the server names the visitor (one rule for every page)
    // The server sends the newest page; pages loaded with "Load earlier" stay above it.
    if (!view.earlier.length) view.olderCursor = data.older;
    var firstSeq = null;
    data.timeline.forEach(function (item) { if (firstSeq === null && item.seq) firstSeq = item.seq; });
    var earlier = view.earlier.filter(function (item) {
      return firstSeq === null || !item.seq || item.seq < firstSeq;
    });
    if (view.olderCursor) {
      transcript.appendChild(el("li", { className: "load-earlier" },
        el("button", { type: "button", className: "secondary", id: "load-earlier", text: "Load earlier messages",
          onclick: loadEarlier })));
    }
    earlier.concat(data.timeline).forEach(function (item) { transcript.appendChild(timelineItem(item, visitorName)); });
    if (!data.timeline.length) transcript.appendChild(el("li", { className: "muted", text: "No messages yet." }));
    if (!keepScroll || atBottom) transcript.scrollTop = transcript.scrollHeight;
    renderVisitor(data);
    if (window.InboxComposer) window.InboxComposer.rendered(data);
    Inbox.show(document.getElementById("placeholder"), false);
    Inbox.show(document.getElementById("conversation"), true);
    document.querySelectorAll(".conversation-item").forEach(function (item) {
      item.classList.toggle("active", Number(item.dataset.id) === c.id);
      if (Number(item.dataset.id) === c.id) {
        item.classList.remove("unread");
        var dot = item.querySelector(".unread-dot");
        if (dot) dot.remove();
      }
    });
  }

  // Who handles the open conversation, and what the agent can do about it.
  function renderAssignment(c, latest) {
    var box = document.getElementById("assignment");
    var text = document.getElementById("assignment-text");
    var note = document.getElementById("assignment-note");
    var mine = c.assignee && c.assignee.id === me;
    var other = c.assignee && !mine;
    box.classList.toggle("taken", !!other);
    text.textContent = !c.assignee ? "Nobody is handling this conversation yet; replying makes it yours." :
      mine ? "You are handling this conversation." : c.assignee.name + " is handling this conversation.";
    var handedOver = latest && latest.action === "transferred" && c.assignee && latest.assignee &&
      latest.assignee.id === c.assignee.id;
    note.textContent = handedOver ? "Transferred by " + latest.by.name + (latest.note ? ": “" + latest.note + "”" : ".") : "";
    Inbox.show(note, !!handedOver);
    Inbox.show(document.getElementById("take-over"), !!other);
    Inbox.show(document.getElementById("release"), !!mine);
    Inbox.show(document.getElementById("transfer"), !other);
    fillTeammates(c.assignee);
  }

  var teammates = null;
  async function loadTeammates() {
    try { teammates = (await api("GET", "teammates")).agents; } catch (e) { teammates = []; }
    if (view.open) fillTeammates(view.open.conversation.assignee);
  }
  function fillTeammates(assignee) {
    var select = document.getElementById("transfer-agent");
    var chosen = select.value;
    clear(select);
    select.appendChild(el("option", { value: "", text: "Transfer to…" }));
    (teammates || []).forEach(function (a) {
      if (assignee && a.id === assignee.id) return;
      var label = (a.id === me ? "Me" : a.name) + " · " + a.presence + " (" + a.handling + ")";
      select.appendChild(el("option", { value: a.email, text: label, selected: a.email === chosen }));
    });
  }

  async function assignmentAction(path, body) {
    var error = document.getElementById("composer-error");
    Inbox.show(error, false);
    try {
      await api("POST", "conversations/" + view.openId + "/" + path, body);
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
    }
    loadConversation(view.openId, true);
    scheduleList();
    loadTeammates();
  }
  document.getElementById("take-over").addEventListener("click", function () { assignmentAction("claim", { take_over: true }); });
  document.getElementById("release").addEventListener("click", function () { assignmentAction("release"); });
  document.getElementById("transfer").addEventListener("submit", function (event) {
    event.preventDefault();
    var to = document.getElementById("transfer-agent").value;
    if (!to) return;
    var noteInput = document.getElementById("transfer-note");
    assignmentAction("transfer", { agent_email: to, note: noteInput.value }).then(function () { noteInput.value = ""; });
  });

  // A short notice in the corner (someone took a conversation from me, or gave me one).
  function toast(text, id) {
    var box = document.getElementById("toasts");
    var item = el("div", { className: "toast", role: "status" }, text + " ",
      el("a", { href: Inbox.base + "/conversations/" + id, text: "Open",
        onclick: function (event) { event.preventDefault(); openConversation(id, true); item.remove(); } }));
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 15000);
  }
  function onAssignment(change) {
    var to = change.assignee, from = change.previous, by = change.by;
    var title = "conversation #" + change.conversation_id;
    if (change.action === "assigned" && to && to.id === me) {
      toast("A new conversation was assigned to you: " + title + ".", change.conversation_id);
    } else if (change.action === "ended" && by.id === 0 && from && from.id === me) {
      toast("Live chat in " + title + " ended: the visitor was quiet for a while.", change.conversation_id);
    } else if (from && from.id === me && by.id !== me && (!to || to.id !== me)) {
      toast(change.action === "taken_over" ? by.name + " took over " + title + "." :
        by.name + (to ? " transferred " + title + " to " + to.name + "." : " released " + title + "."), change.conversation_id);
    } else if (to && to.id === me && by.id !== me) {
      toast(by.name + " transferred " + title + " to you" + (change.note ? ": “" + change.note + "”" : "."), change.conversation_id);
    }
    loadTeammates();
  }

  var conversationRequest = 0;
  async function loadConversation(id, keepScroll) {
    var mine = ++conversationRequest;
    try {
      var data = await api("GET", "conversations/" + id);
      if (mine === conversationRequest && id === view.openId) renderConversation(data, keepScroll);
    } catch (e) {
      if (mine !== conversationRequest) return;
      Inbox.show(document.getElementById("conversation"), false);
      Inbox.show(document.getElementById("visitor-pane"), false);
      var placeholder = document.getElementById("placeholder");
      placeholder.textContent = e.status === 404 ? "Conversation #" + id + " does not exist." : e.message;
      Inbox.show(placeholder, true);
    }
  }

  async function loadEarlier() {
    var id = view.openId, cursor = view.olderCursor;
    if (!id || !cursor) return;
    var transcript = document.getElementById("transcript");
    var fromBottom = transcript.scrollHeight - transcript.scrollTop;
    var page = await api("GET", "conversations/" + id + "?before_seq=" + cursor.before_seq);
    if (id !== view.openId) return;
    view.earlier = page.timeline.concat(view.earlier);
    view.olderCursor = page.older;
    renderConversation(view.open, true);
    transcript.scrollTop = transcript.scrollHeight - fromBottom;  // stay where the agent was reading
  }

  function openConversation(id, push) {
    view.openId = id;
    view.earlier = [];
    view.olderCursor = null;
    if (push) window.history.pushState({ id: id }, "", Inbox.base + "/conversations/" + id + window.location.search);
    document.getElementById("composer-text").value = "";
    if (window.InboxComposer) window.InboxComposer.reset();  // back to Reply
    Inbox.show(document.getElementById("composer-error"), false);
    loadConversation(id, false);
    loadTeammates();  // who is there now, for the transfer list
  }

  window.addEventListener("popstate", function () {
    var match = window.location.pathname.match(/\/conversations\/(\d+)$/);
    if (match) openConversation(Number(match[1]), false);
  });

  async function send() {
    var text = composerText.value.trim();
    var error = document.getElementById("composer-error");
    if (!text || !view.openId) return;
    var button = document.getElementById("send");
    button.disabled = true;
    Inbox.show(error, false);
    try {
      await api("POST", "conversations/" + view.openId + "/messages", { text: text });
      composerText.value = "";
      await loadConversation(view.openId, false);
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
      if (e.status === 409) loadConversation(view.openId, true);  // shows who has it
    } finally {
      button.disabled = false;
      composerText.focus();
    }
  }
  composer.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  composerText.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });

  document.getElementById("end-live-chat").addEventListener("click", async function () {
    var button = this;
    button.disabled = true;
    var error = document.getElementById("composer-error");
    try {
      await api("POST", "conversations/" + view.openId + "/end");
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
    } finally {
      button.disabled = false;
      loadConversation(view.openId, true);
      scheduleList();
    }
  });

  // --- live updates ---

  // Refresh the list soon, not on every event: the earliest pending refresh wins.
  var listTimer = null, listDue = 0, conversationTimer = null;
  function scheduleList(delay) {
    var due = Date.now() + (delay === undefined ? 200 : delay);
    if (listTimer && listDue <= due) return;
    clearTimeout(listTimer);
    listDue = due;
    listTimer = setTimeout(function () { listTimer = null; loadList(false); }, due - Date.now());
  }
  function scheduleConversation() {
    clearTimeout(conversationTimer);
    conversationTimer = setTimeout(function () { if (view.openId) loadConversation(view.openId, true); }, 150);
  }

  function onEvent(event) {
    var data = {};
    try { data = JSON.parse(event.data || "{}"); } catch (e) { return; }
    if (window.InboxAlerts) window.InboxAlerts.event(event.type, data);  // alerts.js
    var listed = list.querySelector('[data-id="' + Number(data.conversation_id) + '"]');
    if (event.type === "assignment") onAssignment(data);
    if (event.type === "state" || event.type === "assignment") scheduleList(150);  // moved tabs
    else if (listed) scheduleList(300);                      // news in a conversation shown
    else if (view.status === "all") scheduleList(1000);      // any chat may move to the top
    if (data.conversation_id && data.conversation_id === view.openId) scheduleConversation();
  }

  var banner = document.getElementById("connection");
  var source = null;
  function connect() {
    source = new EventSource(Inbox.base + "/api/events", { withCredentials: true });
    document.dispatchEvent(new CustomEvent("inbox:stream", { detail: source }));  // typing.js
    source.addEventListener("hello", function () {
      Inbox.show(banner, false);
      api("GET", "presence").then(showPresence, function () {});  // the open stream counts
      scheduleList();
      if (view.openId) scheduleConversation();
    });
    source.addEventListener("message", onEvent);
    source.addEventListener("state", onEvent);
    source.addEventListener("assignment", onEvent);
    source.addEventListener("note", onEvent);
    source.addEventListener("resync", function () { scheduleList(); scheduleConversation(); });
    source.addEventListener("logout", function () { source.close(); Inbox.toLogin(); });
    source.onerror = function () {
      Inbox.show(banner, true);
      if (source.readyState === EventSource.CLOSED) {  // refused (e.g. logged out): check, retry
        api("GET", "conversations?limit=1").then(function () { setTimeout(connect, 3000); }, function () {});
      }
    };
  }

  // --- my presence: the switch in the top bar, and activity that keeps me from going away ---
  var presence = document.getElementById("presence");
  function showPresence(p) {
    presence.value = p.chosen_presence;
    presence.dataset.presence = p.presence;
    presence.title = "Your teammates see you as " + p.presence;
  }
  presence.addEventListener("change", async function () {
    try { showPresence(await api("PUT", "presence", { status: presence.value })); } catch (e) { toastText(e.message); }
    loadTeammates();
  });
  var lastActivity = 0;
  function active() {
    var now = Date.now();
    if (now - lastActivity < 30000) return;  // once every 30 s is plenty for minutes of idleness
    lastActivity = now;
    api("POST", "presence/activity").then(showPresence, function () {});
  }
  ["keydown", "mousedown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, active, { passive: true });
  });
  function toastText(text) {
    var item = el("div", { className: "toast", role: "status", text: text });
    document.getElementById("toasts").appendChild(item);
    setTimeout(function () { item.remove(); }, 15000);
  }

  loadTeammates();
  selectTab(view.status);
  if (view.openId) openConversation(view.openId, false);
  connect();
  window.InboxPage = {
    view: view,
    source: function () { return source; },
    reload: function () { return view.openId ? loadConversation(view.openId, false) : null; }
  };
})();
