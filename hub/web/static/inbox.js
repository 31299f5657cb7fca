// The operators' inbox: live refresh over SSE, forms without reloads, Ctrl+Enter,
// `/shortcut` canned responses. Progressive: every form also works without this file.
(function () {
  "use strict";
  var body = document.body;
  var conversationId = body.dataset.conversationId || null;
  var customerId = body.dataset.customerId || null;
  var FETCH = { "Hub-Fetch": "1" };

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString();
    });
  }

  function parse(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content;
  }

  function scrollToEnd(el) { el.scrollTop = el.scrollHeight; }

  // ---- fragments -------------------------------------------------------------
  var pending = {};
  var timer = null;
  function busy(el) {
    var a = document.activeElement;
    return a && el.contains(a) && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(a.tagName);
  }

  function refreshList() {
    var list = document.querySelector("[data-list]");
    if (!list) return Promise.resolve();
    return fetch(list.dataset.src + location.search, { headers: FETCH, credentials: "same-origin" })
      .then(function (r) { if (r.status === 401) location.reload(); return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var fresh = parse(html);
        fresh.querySelectorAll("[data-swap]").forEach(function (node) {
          var old = list.querySelector('[data-swap="' + node.dataset.swap + '"]');
          if (old) old.replaceWith(node);
        });
        if (conversationId) {
          var row = list.querySelector('[data-conversation-id="' + conversationId + '"]');
          if (row) row.classList.add("current");
        }
        localTimes(list);
      });
  }

  function refreshPart(el) {
    // A part the operator is typing or clicking in is not swapped under their hands:
    // it is marked dirty and refreshed once focus leaves it (checked again on arrival).
    if (busy(el)) { el.dataset.dirty = "1"; return Promise.resolve(); }
    return fetch(el.dataset.src, { headers: FETCH, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        if (busy(el)) { el.dataset.dirty = "1"; return; }
        var atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        el.innerHTML = html;
        delete el.dataset.dirty;
        localTimes(el);
        if (el.dataset.part === "messages" && atEnd) scrollToEnd(el);
      });
  }

  function refreshThread() {
    return Promise.all(Array.prototype.map.call(document.querySelectorAll("[data-part]"), refreshPart));
  }

  function schedule(what) {
    pending[what] = true;
    if (timer) return;
    timer = setTimeout(function () {
      var p = pending; pending = {}; timer = null;
      if (p.list) refreshList();
      if (p.thread) refreshThread();
    }, 50);
  }

  document.addEventListener("focusout", function (e) {
    var part = e.target.closest && e.target.closest("[data-part]");
    if (!part || !part.dataset.dirty) return;
    if (e.relatedTarget && part.contains(e.relatedTarget)) return;  // still working in it
    setTimeout(function () { refreshPart(part); }, 0);
  });

  // ---- live notices ------------------------------------------------------------
  var typingTimer = null;
  function showTyping() {
    var el = document.querySelector("[data-typing]");
    if (!el) return;
    el.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { el.hidden = true; }, 5000);
  }

  function onNotice(n) {
    var mine = conversationId && (String(n.conversation_id) === conversationId ||
      String(n.customer_id) === customerId || String(n.merged_id) === customerId);
    if (n.name === "webchat.typing") { if (mine) showTyping(); return; }
    schedule("list");
    if (mine) schedule("thread");
  }

  function connect() {
    if (!window.EventSource) return;
    var state = document.querySelector("[data-live-state]");
    var source = new EventSource("/inbox/events");
    source.onopen = function () {
      if (state) { state.textContent = "live"; state.dataset.state = "live"; }
      schedule("list"); if (conversationId) schedule("thread");  // catch up on anything missed
    };
    source.onerror = function () {
      if (state) { state.textContent = "reconnecting…"; state.dataset.state = "down"; }
      // A refused stream (signed out, session expired) is not retried by the browser:
      // the list fetch then meets the 401 and reloads into the login form.
      if (source.readyState === EventSource.CLOSED) refreshList();
    };
    source.onmessage = function (e) {
      try { onNotice(JSON.parse(e.data)); } catch (err) { /* a malformed notice is skipped */ }
    };
  }

  // ---- forms -------------------------------------------------------------------
  function showError(form, message) {
    var el = form.querySelector("[data-form-error]") || document.querySelector("[data-form-error]");
    if (el) el.textContent = message || "";
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches("[data-live-form]") || !window.fetch) return;
    e.preventDefault();
    var tz = form.querySelector("[data-tz-offset]");
    if (tz) tz.value = String(new Date().getTimezoneOffset());
    var data = new FormData(form, e.submitter || null);
    showError(form, "");
    fetch(form.action, { method: "POST", body: data, headers: FETCH, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { showError(form, (res.body.error || {}).message || "That did not work."); return; }
        if (form.matches("[data-reply]")) {
          var box = form.querySelector("textarea[name=text]");
          box.value = ""; hideCanned(form); box.focus();
        }
        // The form is done with: let the refresh replace it (see refreshPart).
        var active = document.activeElement;
        if (!form.matches("[data-reply]") && active && form.contains(active)) active.blur();
        if (res.body.location && res.body.location.indexOf(location.pathname) !== 0) {
          location.assign(res.body.location); return;
        }
        refreshThread().then(function () {
          var m = document.querySelector('[data-part="messages"]'); if (m) scrollToEnd(m);
        });
        refreshList();
      })
      .catch(function () { showError(form, "The hub did not answer. Try again."); });
  });

  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-autosubmit]")) e.target.form.requestSubmit();
  });

  // ---- reply box: Ctrl+Enter and /shortcuts ------------------------------------
  function cannedList() {
    return Array.prototype.map.call(document.querySelectorAll("[data-canned-source] li"), function (li) {
      return { shortcut: li.dataset.shortcut, text: li.textContent };
    });
  }

  function hideCanned(form) {
    var list = form.querySelector("[data-canned-list]");
    if (list) { list.hidden = true; list.textContent = ""; }
  }

  function matches(value) {
    var m = /^\/([\w-]*)$/.exec(value.trim());
    if (!m) return [];
    return cannedList().filter(function (c) { return c.shortcut.indexOf(m[1]) === 0; });
  }

  function useCanned(box, canned) {
    box.value = canned.text;
    hideCanned(box.form);
    box.focus();
  }

  document.addEventListener("input", function (e) {
    var box = e.target;
    if (!box.matches("[data-reply] textarea[name=text]")) return;
    var list = box.form.querySelector("[data-canned-list]");
    var found = matches(box.value);
    list.textContent = "";
    found.slice(0, 8).forEach(function (c) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button"; b.dataset.shortcut = c.shortcut;
      b.textContent = "/" + c.shortcut + " — " + c.text.slice(0, 80);
      b.addEventListener("click", function () { useCanned(box, c); });
      li.appendChild(b); list.appendChild(li);
    });
    list.hidden = found.length === 0;
  });

  document.addEventListener("keydown", function (e) {
    var box = e.target;
    if (!box.matches || !box.matches("[data-reply] textarea[name=text]")) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      var found = matches(box.value);
      if (found.length === 1 && "/" + found[0].shortcut === box.value.trim()) box.value = found[0].text;
      box.form.requestSubmit(box.form.querySelector("[data-send]"));
    } else if (e.key === "Tab" && !e.shiftKey) {
      var options = matches(box.value);
      if (options.length) { e.preventDefault(); useCanned(box, options[0]); }
    }
  });

  localTimes(document);
  var msgs = document.querySelector('[data-part="messages"]');
  if (msgs) scrollToEnd(msgs);
  connect();
})();
