// The sandbox page: write as a customer without reloading, and watch the exchange live
// (polls a server-rendered, escaped fragment). The page also works without this file.
(function () {
  "use strict";
  var FETCH = { "Hub-Fetch": "1" };
  var POLL_MS = 1000;

  var pick = document.querySelector("[data-pick]");
  if (pick) {
    var customer = pick.querySelector("[data-customer]");
    var fields = pick.querySelector("[data-new-customer]");
    var showNew = function () { fields.hidden = customer.value !== "new"; };
    showNew();
    customer.addEventListener("change", function () {
      showNew();
      if (customer.value !== "new") pick.submit();
    });
    pick.querySelectorAll('input[name="channel"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        // A new customer's address belongs to one channel: the next one gets its own.
        if (customer.value === "new") pick.querySelector('input[name="address"]').value = "";
        pick.submit();
      });
    });
  }

  var box = document.querySelector("[data-exchange]");
  if (!box) return;
  var list = box.querySelector("[data-entries]");
  var form = box.querySelector("[data-send]");
  var problem = box.querySelector("[data-send-error]");
  var version = box.dataset.version;
  var timer = null;

  function scrollToEnd() { list.scrollTop = list.scrollHeight; }

  function poll() {
    clearTimeout(timer);
    var url = box.dataset.url + "&version=" + encodeURIComponent(version);
    return fetch(url, { headers: FETCH, credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 401) { window.location.reload(); return; }
        if (answer.status !== 200) return;
        version = answer.headers.get("Sandbox-Version") || version;
        return answer.text().then(function (html) {
          var tpl = document.createElement("template");
          tpl.innerHTML = html;  // rendered and escaped by the server
          list.replaceChildren(tpl.content);
          scrollToEnd();
        });
      })
      .catch(function () { /* the hub restarted or the network blinked: try again */ })
      .then(function () { timer = setTimeout(poll, POLL_MS); });
  }

  function send(event) {
    event.preventDefault();
    var button = event.submitter || form.querySelector("[data-send-button]");
    // With the submitter, so "share my phone number" says which button it was (read
    // before disabling it: a disabled button is left out of the form's data).
    var body = new URLSearchParams(new FormData(form, event.submitter || null));
    button.disabled = true;
    problem.textContent = "";
    fetch(form.action, { method: "POST", headers: FETCH, credentials: "same-origin", body: body })
      .then(function (answer) {
        return answer.json().then(function (data) {
          if (!answer.ok || data.error) {
            problem.textContent = (data.error && data.error.message) || ("HTTP " + answer.status);
            return;
          }
          if (!event.submitter || !event.submitter.dataset.shareContact) {
            form.querySelector("textarea").value = "";
          }
          return poll();
        });
      })
      .catch(function (error) { problem.textContent = String(error); })
      .then(function () { button.disabled = false; });
  }

  form.addEventListener("submit", send);
  form.querySelector("textarea").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  scrollToEnd();
  timer = setTimeout(poll, POLL_MS);
})();
