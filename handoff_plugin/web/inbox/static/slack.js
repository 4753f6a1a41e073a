// The Slack page after Connect to Slack: the workspace and a channel picker (admins only).
(function () {
  "use strict";
  var el = Inbox.el, clear = Inbox.clear, api = Inbox.api;
  var status = document.getElementById("slack-status");
  var picker = document.getElementById("slack-picker");
  var heading = document.getElementById("slack-workspace");
  var hint = document.getElementById("slack-workspace-hint");
  var scopes = document.getElementById("slack-scopes");
  var form = document.getElementById("slack-channel-form");
  var select = document.getElementById("slack-channel-choice");
  var fieldError = form.querySelector(".field-error");

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "ok");
    Inbox.show(status, Boolean(text));
  }

  function fill(workspace) {
    heading.textContent = "Connected to " + (workspace.team || "your Slack workspace");
    hint.textContent = workspace.bot_user ? "The bot posts as @" + workspace.bot_user + "." : "";
    Inbox.show(hint, Boolean(workspace.bot_user));
    var missing = workspace.missing_scopes || [];
    scopes.textContent = missing.length ? "The app lacks these scopes: " + missing.join(", ") +
      ". Add them on the app's OAuth & Permissions page, then connect again." : "";
    Inbox.show(scopes, missing.length > 0);
    clear(select);
    if (!workspace.channels.length) {
      select.appendChild(el("option", { value: "", text: "No public channels found" }));
    }
    workspace.channels.forEach(function (channel) {
      var label = "#" + channel.name + (channel.is_member ? "  (bot is a member)" : "");
      select.appendChild(el("option", { value: channel.id, text: label, selected: channel.id === workspace.channel }));
    });
    Inbox.show(form, true);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    fieldError.textContent = "";
    Inbox.show(fieldError, false);
    if (!select.value) return;
    var button = document.getElementById("slack-channel-save");
    button.disabled = true;
    try {
      var result = await api("PUT", "settings/slack/channel", { channel: select.value });
      var where = "#" + result.channel.name;
      say(result.joined ?
        "Slack notifications are on: escalations are posted to " + where + "." :
        "Slack notifications are on, to " + where + ", but the bot could not join it (" + result.join_error +
        "): type /invite @your-app in that channel.", result.joined ? "ok" : "error");
    } catch (e) {
      fieldError.textContent = e.message;
      Inbox.show(fieldError, true);
      say("Not saved: " + e.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  async function start() {
    if (picker.dataset.connected === "true") say("Slack is connected. Choose the channel for escalations.");
    try {
      fill(await api("GET", "settings/slack/workspace"));
    } catch (e) {
      heading.textContent = "Slack could not list the workspace's channels";
      say(e.message, "error");
    }
  }
  start();
})();
