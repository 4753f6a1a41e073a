// Satisfaction (CSAT) on the Escalations page: the average rating of the period, per day and per
// agent, from the same answer as the escalations (escalations.js announces it: review:loaded).
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear;
  var box = document.getElementById("review-csat");
  if (!box) return;

  function score(value) { return value.average.toFixed(1) + " / 5"; }
  function ratings(n) { return n + " rating" + (n === 1 ? "" : "s"); }

  function table(heading, rows) {
    var body = el("tbody");
    rows.forEach(function (row) {
      body.appendChild(el("tr", null, el("td", { text: row.label }), el("td", { className: "nowrap", text: score(row) }), el("td", { className: "muted", text: ratings(row.count) })));
    });
    return el("div", { className: "csat-table" },
      el("h3", { text: heading }),
      el("table", { className: "table" },
        el("thead", null, el("tr", null, el("th", { text: heading === "Per agent" ? "Agent" : "Day" }), el("th", { text: "Average" }), el("th", { text: "Ratings" }))),
        body));
  }

  document.addEventListener("review:loaded", function (event) {
    var csat = event.detail && event.detail.csat;
    clear(box);
    if (!csat) { Inbox.show(box, false); return; }
    box.appendChild(el("h2", null, "Satisfaction ",
      el("span", { className: "muted", text: csat.count ? "· " + score(csat) + " from " + ratings(csat.count) : "· no ratings in this period" })));
    if (csat.count) {
      box.appendChild(el("div", { className: "csat-tables" },
        table("Per day", csat.by_day.map(function (d) {
          return { label: new Date(d.day + "T12:00:00Z").toLocaleDateString(undefined, { weekday: "short", month: "short", day: "numeric" }), average: d.average, count: d.count };
        })),
        table("Per agent", csat.by_agent.map(function (a) { return { label: a.agent.name, average: a.average, count: a.count }; }))));
    }
    Inbox.show(box, true);
  });
})();
