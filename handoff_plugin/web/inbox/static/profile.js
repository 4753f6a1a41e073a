// "Your profile" (the name in the top bar): the picture visitors see next to the agent's
// messages. Saved with PUT api/profile; an empty field removes the picture.
(function () {
  "use strict";
  var dialog = document.getElementById("profile");
  var opener = document.getElementById("profile-open");
  if (!dialog || !opener) return;
  var form = document.getElementById("profile-form");
  var input = document.getElementById("profile-avatar");
  var error = document.getElementById("profile-error");
  var saved = input.value;

  function close() {
    input.value = saved;
    Inbox.show(error, false);
    dialog.close();
    opener.focus();
  }

  opener.addEventListener("click", function () {
    dialog.showModal();
    input.focus();
  });
  document.getElementById("profile-cancel").addEventListener("click", close);
  dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(); });

  input.addEventListener("input", function () { Inbox.show(error, false); });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var value = input.value.trim();
    Inbox.show(error, false);
    try {
      var data = await Inbox.api("PUT", "profile", { avatar_url: value || null });
      saved = data.agent.avatar_url || "";
      input.value = saved;
      dialog.close();
      opener.focus();
    } catch (e) {
      error.textContent = e.message;
      Inbox.show(error, true);
      input.focus();
    }
  });
})();
