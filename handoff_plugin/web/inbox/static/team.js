// Settings, admins only: the Agents tab (list, add, remove) and the Audit log tab.
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var main = document.querySelector("main.settings");
  var myId = Number(main.dataset.agentId);
  var status = document.getElementById("settings-status");

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "ok");
    Inbox.show(status, Boolean(text));
  }

  // --- Agents ---

  var list = document.getElementById("agents-list");
  var form = document.getElementById("agent-form");
  var formError = form.querySelector(".form-error");

  function row(agent) {
    var remove = agent.id === myId ? el("span", { className: "muted", text: "you" }) :
      el("button", { type: "button", className: "danger", text: "Remove", onclick: function () { removeAgent(agent); } });
    return el("tr", { dataset: { agentId: String(agent.id) } },
      el("td", { text: agent.email }),
      el("td", { text: agent.name }),
      el("td", { text: agent.role }),
      el("td", { text: agent.last_login_at ? Inbox.dateTime(agent.last_login_at) : "never" }),
      el("td", null, remove));
  }

  async function loadAgents() {
    try {
      var data = await api("GET", "agents");
      clear(list);
      data.agents.forEach(function (agent) { list.appendChild(row(agent)); });
    } catch (e) {
      say(e.message, "error");
    }
  }

  async function removeAgent(agent) {
    if (!window.confirm("Remove " + agent.email + "? Their sessions end at once.")) return;
    try {
      await api("DELETE", "agents/" + agent.id);
      say("Removed " + agent.email + ".");
      loadAgents();
    } catch (e) {
      say(e.message, "error");
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    Inbox.show(formError, false);
    var body = {
      email: document.getElementById("agent-email").value.trim(),
      name: document.getElementById("agent-name").value.trim(),
      password: document.getElementById("agent-password").value,
      role: document.getElementById("agent-role").value
    };
    try {
      var added = await api("POST", "agents", body);
      form.reset();
      say("Added " + added.agent.email + " (" + added.agent.role + "). Tell them their password in person.");
      loadAgents();
    } catch (e) {
      formError.textContent = e.message;
      Inbox.show(formError, true);
    }
  });

  // --- Audit log ---

  var audit = document.getElementById("audit-list");
  var more = document.getElementById("audit-more");
  var cursor = null;

  async function loadAudit(next) {
    try {
      var data = await api("GET", "settings/audit" + (next ? "?cursor=" + encodeURIComponent(next) : ""));
      if (!next) clear(audit);
      data.changes.forEach(function (change) {
        audit.appendChild(el("tr", null,
          el("td", { text: Inbox.dateTime(change.changed_at) }),
          el("td", { text: change.agent ? change.agent.email : "the server" }),
          el("td", null, el("code", { text: change.key })),
          el("td", { text: change.change })));
      });
      cursor = data.next_cursor;
      Inbox.show(more, Boolean(cursor));
      Inbox.show(document.getElementById("audit-empty"), !audit.firstChild);
    } catch (e) {
      say(e.message, "error");
    }
  }
  more.addEventListener("click", function () { loadAudit(cursor); });

  function shown(name) {
    if (name === "agents") loadAgents();
    if (name === "audit") loadAudit(null);
  }
  // settings.js announces every tab shown (also the first, from the address's #hash)
  document.addEventListener("settings-tab", function (event) { shown(event.detail); });
})();
