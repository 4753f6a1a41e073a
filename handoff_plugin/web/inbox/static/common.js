// Shared by every inbox page. Visitor-supplied text is only ever put into the page as text
// (textContent / text nodes): never innerHTML with data.
(function () {
  "use strict";
  function meta(name) {
    var node = document.querySelector('meta[name="' + name + '"]');
    return node ? node.getAttribute("content") : "";
  }
  var base = meta("inbox-base");
  var csrf = meta("csrf-token");

  // el("p", {className: "x", text: "..."}, child, "text", ...) -> element
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var props = attrs || {};
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      else if (key.indexOf("on") === 0) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function ApiError(status, message, field) {
    this.status = status;
    this.message = message;
    this.field = field || null;
  }

  function toLogin() {
    var here = window.location.pathname + window.location.search;
    window.location.assign(base + "/login?next=" + encodeURIComponent(here));
  }

  async function api(method, path, body) {
    var headers = { Accept: "application/json" };
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var response;
    try {
      response = await fetch(base + "/api/" + path, init);
    } catch (e) {
      throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
    }
    if (response.status === 401 && path !== "login") {
      toLogin();
      throw new ApiError(401, "Your session has ended; please log in again.");
    }
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.error) || ("HTTP " + response.status), data && data.field);
    }
    return data;
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    var now = new Date();
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() === now.toDateString()) return hm;
    return d.toLocaleDateString(undefined, { day: "numeric", month: "short" }) + " " + hm;
  }

  function dateTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) +
      " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function show(node, visible) {
    if (node) node.hidden = !visible;
  }

  var logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async function () {
      try { await api("POST", "logout"); } catch (e) { /* logged out either way */ }
      window.location.assign(base + "/login");
    });
  }

  window.Inbox = {
    base: base, chatbotName: meta("chatbot-name"), agentId: Number(meta("agent-id")) || null, api: api, el: el, clear: clear,
    time: time, dateTime: dateTime, show: show, toLogin: toLogin, ApiError: ApiError
  };
})();
