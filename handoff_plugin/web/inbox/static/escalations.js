// Escalation review: escalations by day, with their trigger and the message behind them.
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear;
  var TRIGGERS = { intent: "Asked for a person", fallback: "Accepted the bot's offer", payload: "Website button or link" };

  function iso(date) { return date.toISOString().slice(0, 10); }
  var today = new Date();
  var from = new Date(today.getTime() - 29 * 86400000);
  var fromInput = document.getElementById("review-from");
  var toInput = document.getElementById("review-to");
  var params = new URLSearchParams(window.location.search);
  fromInput.value = params.get("from") || iso(from);
  toInput.value = params.get("to") || iso(today);

  function chips(counts) {
    var row = el("span", { className: "chips" });
    Object.keys(TRIGGERS).forEach(function (t) {
      if (counts[t]) row.appendChild(el("span", { className: "tag tag-" + t, text: TRIGGERS[t] + ": " + counts[t] }));
    });
    return row;
  }

  async function load() {
    var query = new URLSearchParams({ from: fromInput.value, to: toInput.value });
    var csv = document.getElementById("review-csv");  // admins only
    if (csv) csv.href = Inbox.base + "/api/escalations?format=csv&" + query.toString();
    var error = document.getElementById("review-error");
    Inbox.show(error, false);
    var data;
    try {
      data = await Inbox.api("GET", "escalations?" + query.toString());
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
      return;
    }
    document.dispatchEvent(new CustomEvent("review:loaded", { detail: data }));  // satisfaction.js
    var summary = document.getElementById("review-summary");
    clear(summary);
    var totals = { intent: 0, fallback: 0, payload: 0 };
    data.days.forEach(function (d) { Object.keys(totals).forEach(function (t) { totals[t] += d.counts[t] || 0; }); });
    summary.appendChild(el("p", null,
      el("strong", { text: data.total + " escalation" + (data.total === 1 ? "" : "s") }),
      " from " + data.from + " to " + data.to + " ", chips(totals)));
    if (data.truncated) summary.appendChild(el("p", { className: "notice", text: "Only the newest escalations are shown: choose fewer days." }));
    var days = document.getElementById("review-days");
    clear(days);
    if (!data.days.length) days.appendChild(el("p", { className: "empty", text: "No escalations in this period." }));
    data.days.forEach(function (d) {
      var rows = el("tbody");
      d.escalations.forEach(function (e) {
        rows.appendChild(el("tr", null,
          el("td", { className: "nowrap", text: Inbox.time(e.created_at) }),
          el("td", null, el("span", { className: "tag tag-" + e.trigger, text: TRIGGERS[e.trigger] || e.trigger })),
          el("td", { className: "message-cell" }, e.message ? el("q", { text: e.message }) : el("span", { className: "muted", text: "(no message)" })),
          el("td", { text: e.visitor.email || e.visitor.name || "—" }),
          el("td", null, el("a", { href: Inbox.base + "/conversations/" + e.conversation_id, text: "#" + e.conversation_id }))));
      });
      var total = d.escalations.length;
      days.appendChild(el("section", { className: "card day" },
        el("h2", null, el("span", { text: new Date(d.day + "T12:00:00Z").toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" }) }),
          el("span", { className: "muted", text: " · " + total + " escalation" + (total === 1 ? "" : "s") + " " }), chips(d.counts)),
        el("table", { className: "table" },
          el("thead", null, el("tr", null, el("th", { text: "Time" }), el("th", { text: "Trigger" }), el("th", { text: "Message that triggered it" }), el("th", { text: "Visitor" }), el("th", { text: "Conversation" }))),
          rows)));
    });
  }

  document.getElementById("review-form").addEventListener("submit", function (event) {
    event.preventDefault();
    window.history.replaceState(null, "", "?from=" + fromInput.value + "&to=" + toInput.value);
    load();
  });
  load();
})();
