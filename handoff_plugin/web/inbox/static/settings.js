// Settings: the Escalations tab (notifications) and the Localization tab (visitor texts).
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var status = document.getElementById("settings-status");
  var loaded = null;       // the settings as the server last returned them
  var language = null;     // the language shown on the Localization tab
  var added = {};          // languages added on this page, not saved yet
  var main = document.querySelector("main.settings");
  var isAdmin = main.dataset.admin === "true";  // the server refuses changes by agents anyway

  function get(obj, dotted) {
    return dotted.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "ok");
    Inbox.show(status, Boolean(text));
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error, .form-error").forEach(function (node) { node.textContent = ""; Inbox.show(node, false); });
    form.querySelectorAll(".field.invalid").forEach(function (node) { node.classList.remove("invalid"); });
  }

  function showError(form, error) {
    var field = error.field && form.querySelector('[data-field="' + error.field + '"]');
    var target = field ? field.querySelector(".field-error") : form.querySelector(".form-error");
    if (field) field.classList.add("invalid");
    target.textContent = error.message;
    Inbox.show(target, true);
    (field || target).scrollIntoView({ block: "center", behavior: "smooth" });
    say("Not saved: " + error.message, "error");
  }

  // --- tabs ---

  function showTab(name) {
    if (!document.querySelector('.settings-tabs [data-tab="' + name + '"]')) name = "escalations";
    document.querySelectorAll(".settings-tabs [data-tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    });
    document.querySelectorAll(".settings-panel").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== name;
    });
    if (window.location.hash !== "#" + name) window.history.replaceState(null, "", "#" + name);
    document.dispatchEvent(new CustomEvent("settings-tab", { detail: name }));
  }

  // Agents see the settings but cannot change them: every control is disabled, the buttons gone.
  function readOnly() {
    document.querySelectorAll("#escalations-form, #localization-form").forEach(function (form) {
      form.querySelectorAll("input, select, textarea, button").forEach(function (control) {
        if (control.id === "language") return;  // still lets them read every language
        control.disabled = true;
      });
      form.querySelectorAll(".actions, .webhook-test, .slack-connect-row, .link").forEach(function (node) { node.hidden = true; });
    });
    var adder = document.getElementById("new-language");
    if (adder) adder.hidden = true;
    var addButton = document.getElementById("add-language");
    if (addButton) addButton.hidden = true;
  }
  document.querySelectorAll(".settings-tabs [data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function () { say(""); showTab(tab.dataset.tab); });
  });

  // --- Escalations tab ---

  var escalationsForm = document.getElementById("escalations-form");

  function fillEscalations(data) {
    escalationsForm.querySelectorAll("[data-key]").forEach(function (input) {
      var value = get(data, input.dataset.key);
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value == null ? "" : String(value);
    });
    escalationsForm.querySelectorAll("[data-secret]").forEach(function (input) { input.value = ""; });
    var slack = data.slack;
    var slackToggle = document.getElementById("slack-enabled");
    slackToggle.disabled = !slack.available && !slack.enabled;
    var reason = document.getElementById("slack-unavailable");
    reason.textContent = slack.available ? "" : "Unavailable: " + slack.unavailable_reason;
    Inbox.show(reason, !slack.available);
    document.getElementById("slack-token-state").textContent = slack.bot_token_set ?
      "A bot token is saved. Type a new one to replace it." : "No bot token saved yet.";
    document.getElementById("slack-bot-token").placeholder = slack.bot_token_set ? "•••••••• (saved)" : "xoxb-…";
    document.getElementById("slack-signing-secret-state").textContent = slack.signing_secret_set ?
      "A signing secret is saved (it is never shown). Type a new one to replace it." : "No signing secret saved yet.";
    document.getElementById("slack-signing-secret").placeholder = slack.signing_secret_set ? "•••••••• (saved)" : "";
    document.getElementById("slack-client-secret-state").textContent = slack.client_secret_set ?
      "A client secret is saved (it is never shown). Type a new one to replace it." : "No client secret saved yet.";
    document.getElementById("slack-client-secret").placeholder = slack.client_secret_set ? "•••••••• (saved)" : "";
    ["redirect_url", "events_url", "interactions_url", "api_url"].forEach(function (key) {
      document.getElementById("slack-" + key.replace("_", "-")).textContent = slack[key];
    });
    Inbox.show(document.getElementById("slack-connect"), slack.connect_available);
    Inbox.show(document.getElementById("slack-choose-channel"), slack.bot_token_set);
    document.getElementById("slack-connect-hint").textContent = slack.connect_available ?
      "Installs the app in your Slack workspace and saves its bot token; then you choose the channel." :
      "Save the app's Client ID and Client Secret below to connect in one click, or paste a bot token.";
    var secretSet = data.webhook.secret_set;
    document.getElementById("webhook-secret-state").textContent = secretSet ?
      "A signing secret is set (it is never shown). Type a new one to replace it." :
      "No signing secret set: requests are not signed.";
    document.getElementById("webhook-secret").placeholder = secretSet ? "•••••••• (set)" : "a long random string";
    // "Remove the ..." under each saved secret (a secret is write-only: "" removes it)
    escalationsForm.querySelectorAll("[data-clear]").forEach(function (box) {
      box.checked = false;
      Inbox.show(document.getElementById(box.id + "-label"), Boolean(get(data, box.dataset.clear + "_set")));
    });
  }

  function escalationChanges() {
    var changes = {};
    function put(dotted, value) {
      var parts = dotted.split(".");
      changes[parts[0]] = changes[parts[0]] || {};
      changes[parts[0]][parts[1]] = value;
    }
    escalationsForm.querySelectorAll("[data-key]").forEach(function (input) {
      var value = input.type === "checkbox" ? input.checked : input.value.trim();
      var before = get(loaded, input.dataset.key);
      if (input.type !== "checkbox") before = before == null ? "" : String(before);
      if (value !== before) put(input.dataset.key, value);
    });
    escalationsForm.querySelectorAll("[data-secret]").forEach(function (input) {
      if (input.value.trim()) put(input.dataset.secret, input.value.trim());
    });
    escalationsForm.querySelectorAll("[data-clear]").forEach(function (box) {
      if (box.checked) put(box.dataset.clear, "");
    });
    return changes;
  }

  escalationsForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearErrors(escalationsForm);
    var changes = escalationChanges();
    if (!Object.keys(changes).length) { say("Nothing changed."); return; }
    try {
      loaded = await api("PUT", "settings", changes);
      fillEscalations(loaded);
      say("Saved. The next escalation uses these settings.");
    } catch (e) {
      showError(escalationsForm, e);
    }
  });

  // Connect to Slack: the server hands out Slack's authorize URL (with a state for this login).
  document.getElementById("slack-connect").addEventListener("click", async function () {
    var button = this;
    var problem = document.getElementById("slack-connect-error");
    problem.textContent = "";
    Inbox.show(problem, false);
    button.disabled = true;
    try {
      var answer = await api("POST", "settings/slack/connect");
      window.location.assign(answer.authorize_url);
    } catch (e) {
      problem.textContent = e.message;
      Inbox.show(problem, true);
      button.disabled = false;
    }
  });

  document.getElementById("webhook-test").addEventListener("click", async function () {
    var button = this;
    var box = document.getElementById("webhook-test-result");
    var url = document.getElementById("webhook-url").value.trim();
    button.disabled = true;
    clear(box);
    box.className = "test-result";
    box.appendChild(el("p", { text: "Sending a test event to " + (url || "the saved URL") + "…" }));
    Inbox.show(box, true);
    try {
      var r = await api("POST", "settings/webhook/test", url ? { url: url } : {});
      clear(box);
      box.className = "test-result " + (r.delivered ? "ok" : "bad");
      var head = r.status === null ? "No answer: " + r.error :
        "The receiver answered HTTP " + r.status + " " + r.reason + " in " + r.elapsed_ms + " ms" +
        (r.delivered ? " — delivered." : " — not delivered.");
      box.appendChild(el("p", { className: "test-head", text: head }));
      if (r.meaning) box.appendChild(el("p", { className: "muted", text: "So " + r.meaning + "." }));
      box.appendChild(el("p", { className: "muted", text: r.signed ? "Signed (X-Signature-256 and webhook-signature)." : "Not signed: " + (r.unsigned_reason || "no signing secret set") + "." }));
      if (r.answer) box.appendChild(el("pre", { className: "answer", text: r.answer }));
    } catch (e) {
      clear(box);
      box.className = "test-result bad";
      box.appendChild(el("p", { text: e.message }));
    } finally {
      button.disabled = false;
    }
  });

  // --- Localization tab ---

  var localizationForm = document.getElementById("localization-form");

  function option(value, selected) {
    return el("option", { value: value, selected: selected, text: value });
  }

  function fillLanguages() {
    var loc = loaded.localization;
    var names = Object.keys(loc.languages).sort();
    if (!language || names.indexOf(language) < 0) language = loc.default_language;
    var select = document.getElementById("language");
    var defaults = document.getElementById("default-language");
    clear(select); clear(defaults);
    names.forEach(function (name) {
      select.appendChild(option(name, name === language));
      defaults.appendChild(option(name, name === loc.default_language));
    });
    fillTexts();
  }

  // The shipped texts of a language (English for a language rasa-handoff has none for).
  function defaultsFor(code) {
    var loc = loaded.localization;
    return (loc.language_defaults && loc.language_defaults[code]) || loc.defaults;
  }

  function fillTexts() {
    var loc = loaded.localization;
    var texts = document.getElementById("texts");
    clear(texts);
    var defaults = defaultsFor(language);
    var current = loc.languages[language] || defaults;
    loc.keys.forEach(function (key) {
      var id = "text-" + key;
      var input = el("textarea", { id: id, rows: current[key].length > 90 ? 3 : 2, dataset: { text: key } });
      input.value = current[key];
      var placeholders = loc.placeholders[key].map(function (p) { return "{" + p + "}"; }).join(" ");
      var customized = current[key] !== defaults[key];
      var reset = el("button", { type: "button", className: "link", text: "Reset to default", hidden: !customized, onclick: function () {
        input.value = defaults[key];
        input.dataset.reset = "1";
        reset.hidden = true;
      } });
      input.addEventListener("input", function () { reset.hidden = input.value === defaults[key]; });
      texts.appendChild(el("div", { className: "field text-field", dataset: { field: "localization.texts." + language + "." + key } },
        el("label", { for: id },
          el("span", null, el("span", { text: loc.labels[key] || key }), customized ? el("span", { className: "changed", text: "changed" }) : null),
          el("code", { className: "key", text: key })),
        input,
        el("p", { className: "hint" },
          el("span", { text: "Default: " }), el("span", { className: "default-text", text: defaults[key] }),
          placeholders ? el("span", { text: "  ·  Placeholders: " + placeholders }) : null,
          " ", reset),
        el("p", { className: "field-error", hidden: true })));
    });
  }

  document.getElementById("language").addEventListener("change", function () {
    language = this.value;
    clearErrors(localizationForm);
    fillTexts();
    if (!isAdmin) readOnly();
  });

  document.getElementById("add-language").addEventListener("click", function () {
    var input = document.getElementById("new-language");
    var code = input.value.trim();
    clearErrors(localizationForm);
    if (!/^[a-z]{2,3}([-_][A-Za-z]{2,4})?$/.test(code)) {
      showError(localizationForm, { field: null, message: "“" + code + "” is not a language code like en, de or pt-BR." });
      return;
    }
    if (!loaded.localization.languages[code]) loaded.localization.languages[code] = Object.assign({}, defaultsFor(code));
    language = code;
    added[code] = true;
    input.value = "";
    fillLanguages();
    say("Added " + code + ": translate the texts, then Save.");
  });

  localizationForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    clearErrors(localizationForm);
    var loc = loaded.localization;
    var defaults = defaultsFor(language);
    var before = loc.languages[language] || defaults;
    var changed = {};
    localizationForm.querySelectorAll("[data-text]").forEach(function (input) {
      var key = input.dataset.text;
      if (input.dataset.reset && input.value === defaults[key]) changed[key] = null;
      else if (input.value.trim() !== before[key]) changed[key] = input.value.trim();
    });
    var body = { localization: { texts: {} } };
    body.localization.texts[language] = changed;
    var defaultLanguage = document.getElementById("default-language").value;
    if (defaultLanguage !== loc.default_language) body.localization.default_language = defaultLanguage;
    if (!Object.keys(changed).length && !body.localization.default_language && !added[language]) {
      say("Nothing changed.");
      return;
    }
    try {
      loaded = await api("PUT", "settings", body);
      delete added[language];
      fillLanguages();
      say("Saved. Visitors see the new texts from their next message on.");
    } catch (e) {
      showError(localizationForm, e);
    }
  });

  // --- start ---

  async function start() {
    try {
      loaded = await api("GET", "settings");
    } catch (e) {
      say(e.message, "error");
      return;
    }
    fillEscalations(loaded);
    fillLanguages();
    if (!isAdmin) readOnly();
    showTab(window.location.hash.replace("#", ""));
  }
  window.addEventListener("hashchange", function () { showTab(window.location.hash.replace("#", "")); });
  start();
})();
