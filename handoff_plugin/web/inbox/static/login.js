(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var error = document.getElementById("login-error");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    Inbox.show(error, false);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await Inbox.api("POST", "login", {
        email: document.getElementById("email").value,
        password: document.getElementById("password").value
      });
      window.location.assign(form.dataset.next || (Inbox.base + "/"));
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
      button.disabled = false;
      document.getElementById("password").select();
    }
  });
})();
