// The operators' inbox: live refresh over SSE, forms without reloads, Ctrl+Enter,
// `/shortcut` canned responses. Progressive: every form also works without this file.
(function () {
  "use strict";
  var body = document.body;
  var conversationId = body.dataset.conversationId || null;
  var customerId = body.dataset.customerId || null;
  var FETCH = { "Hub-Fetch": "1" };
  // Refreshes the page makes by itself (live updates): not the operator's activity, so an
  // unattended inbox still ends its session after HUB_SESSION_IDLE_MINUTES.
  var REFRESH = { "Hub-Fetch": "1", "Hub-Refresh": "1" };
  // The page's language (<html lang>) and its words: the server renders them translated
  // into data-text-* attributes, since this script has no catalog of its own.
  var LANG = document.documentElement.lang || "en";
  function text(el, name, fallback) { return (el && el.dataset[name]) || fallback; }
  var TIME_FORMAT = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString(LANG, TIME_FORMAT);
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

  // A row swapped between the press and the release of a click or tap loses that click
  // (the browser sends no click when press and release land on different nodes): while the
  // operator presses in the list, its refresh waits and runs once the press is over.
  var pressing = false;
  var listWaiting = false;
  document.addEventListener("pointerdown", function (e) {
    if (e.target.closest && e.target.closest("[data-list]")) pressing = true;
  }, true);
  function pressOver() {
    if (!pressing) return;
    pressing = false;
    // after the click handlers (and any navigation the click starts) have run
    if (listWaiting) setTimeout(function () { listWaiting = false; refreshList(); }, 300);
  }
  ["pointerup", "pointercancel", "dragend"].forEach(function (kind) {
    document.addEventListener(kind, pressOver, true);
  });

  function refreshList() {
    var list = document.querySelector("[data-list]");
    if (!list) return Promise.resolve();
    var started = performance.now();
    return fetch(list.dataset.src + location.search, { headers: REFRESH, credentials: "same-origin" })
      .then(function (r) { if (r.status === 401) location.reload(); return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || html === undefined) return;
        if (pressing) { listWaiting = true; list.dataset.refreshWaiting = "1"; return; }
        delete list.dataset.refreshWaiting;
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
        markSelection();
        // notify.js counts unread rows, and names notices that came before `started`
        document.dispatchEvent(new CustomEvent("hub:list", { detail: { started: started } }));
      });
  }

  function refreshPart(el) {
    // A part the operator is typing or clicking in is not swapped under their hands:
    // it is marked dirty and refreshed once focus leaves it (checked again on arrival).
    if (busy(el)) { el.dataset.dirty = "1"; return Promise.resolve(); }
    return fetch(el.dataset.src, { headers: REFRESH, credentials: "same-origin" })
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
    document.dispatchEvent(new CustomEvent("hub:notice", { detail: n }));  // notify.js
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
      if (state) { state.textContent = text(state, "textLive", "live"); state.dataset.state = "live"; }
      schedule("list"); if (conversationId) schedule("thread");  // catch up on anything missed
    };
    source.onerror = function () {
      if (state) { state.textContent = text(state, "textDown", "reconnecting…"); state.dataset.state = "down"; }
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
    // The reply form has its own slot; the thread head's forms share the head's.
    var head = form.closest("[data-part='head']");
    var el = form.querySelector("[data-form-error]") ||
      (head && head.querySelector("[data-head-error]")) || document.querySelector("[data-form-error]");
    if (!el) return;
    el.textContent = message || "";
    if (message && el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches("[data-live-form]") || !window.fetch) return;
    e.preventDefault();
    var tz = form.querySelector("[data-tz-offset]");
    if (tz) tz.value = String(new Date().getTimezoneOffset());
    var zone = form.querySelector("[data-tz-name]");
    if (zone && window.Intl) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    var data = new FormData(form, e.submitter || null);
    showError(form, "");
    fetch(form.action, { method: "POST", body: data, headers: FETCH, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) {
          var error = res.body.error || {};
          // A refused CSRF token is answered before the inbox knows the language.
          showError(form, error.code === "csrf" ? text(body, "textCsrf", error.message)
            : error.message || text(body, "textFailed", "That did not work."));
          return;
        }
        if (form.matches("[data-reply]")) {
          var box = form.querySelector("textarea[name=text]");
          box.value = ""; hideCanned(form); clearFile(form); box.focus();
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
      .catch(function () { showError(form, text(body, "textOffline", "The hub did not answer. Try again.")); });
  });

  // ---- reports: days in the operator's own time zone ----------------------------
  // The browser's zone is remembered in a cookie for the server; a page drawn in another
  // zone without an explicit ?tz= is asked for again in the browser's zone.
  (function () {
    var pane = document.querySelector("[data-reports]");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
    if (!pane || !zone) return;
    if (/^(Etc\/)?(UTC|UCT|GMT[+-]?0?|Universal|Zulu|Greenwich)$/.test(zone)) zone = "UTC";
    // IANA names are plain cookie characters (letters, digits, / _ + -).
    document.cookie = "hub_tz=" + zone + "; path=/inbox; max-age=31536000; samesite=lax";
    var url = new URL(window.location.href);
    if (!url.searchParams.get("tz") && pane.dataset.zone !== zone) {
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
    }
  })();

  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-autosubmit]")) e.target.form.requestSubmit();
    if (e.target.matches("[data-reply-file]")) showFile(e.target.form);
  });

  // ---- reply box: an attached file (sent in the same FormData as the text) -------
  // A file alone may be sent: the text is then optional (the server names the message
  // after the file).
  function showFile(form) {
    var input = form.querySelector("[data-reply-file]");
    var name = form.querySelector("[data-file-name]");
    var file = input && input.files && input.files[0];
    if (name) name.textContent = file ? file.name : "";
    var box = form.querySelector("textarea[name=text]");
    if (box) box.required = !file;
  }

  function clearFile(form) {
    var input = form.querySelector("[data-reply-file]");
    if (input) input.value = "";
    showFile(form);
  }

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

  // The `/word` being typed: right before the cursor, at the start or after a space, so
  // a shortcut works anywhere in the text (a path such as "a/b" is not one).
  function typedShortcut(box) {
    var end = box.selectionStart === box.selectionEnd ? box.selectionStart : box.value.length;
    var m = /(^|\s)\/([\w-]*)$/.exec(box.value.slice(0, end));
    return m ? { start: end - m[2].length - 1, end: end, word: m[2] } : null;
  }

  function matches(box) {
    var typed = typedShortcut(box);
    if (!typed) return [];
    return cannedList().filter(function (c) { return c.shortcut.indexOf(typed.word) === 0; });
  }

  function useCanned(box, canned) {
    var typed = typedShortcut(box);
    if (typed) {
      box.value = box.value.slice(0, typed.start) + canned.text + box.value.slice(typed.end);
      var at = typed.start + canned.text.length;
      box.setSelectionRange(at, at);
    } else {
      box.value = canned.text;
    }
    hideCanned(box.form);
    box.focus();
  }

  document.addEventListener("input", function (e) {
    var box = e.target;
    if (!box.matches("[data-reply] textarea[name=text]")) return;
    var list = box.form.querySelector("[data-canned-list]");
    var found = matches(box);
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
      var found = matches(box);
      var typed = typedShortcut(box);
      var exact = typed && found.filter(function (c) { return c.shortcut === typed.word; });
      if (exact && exact.length === 1) useCanned(box, exact[0]);
      box.form.requestSubmit(box.form.querySelector("[data-send]"));
    } else if (e.key === "Tab" && !e.shiftKey) {
      var options = matches(box);
      if (options.length) { e.preventDefault(); useCanned(box, options[0]); }
    }
  });

  // ---- keyboard shortcuts: j/k move, Enter/o open, a assign to me, r resolve, / search,
  // ? help, Esc closes overlays. Never while typing in a field, never with Ctrl/Alt/Meta.
  var selectedId = conversationId;
  var selectedIndex = -1;

  function listRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-list] .row[data-conversation-id]"));
  }

  function markSelection() {
    var rows = listRows();
    var index = rows.findIndex(function (r) { return r.dataset.conversationId === selectedId; });
    // The selected row left the list (resolved, filtered out): keep the place, not the row.
    if (index < 0 && selectedIndex >= 0 && rows.length) index = Math.min(selectedIndex, rows.length - 1);
    rows.forEach(function (r, i) {
      r.classList.toggle("selected", i === index);
      r.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    selectedIndex = index;
    selectedId = index >= 0 ? rows[index].dataset.conversationId : null;
    return index >= 0 ? rows[index] : null;
  }

  function moveSelection(step) {
    var rows = listRows();
    if (!rows.length) return;
    var index = rows.findIndex(function (r) { return r.dataset.conversationId === selectedId; });
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, index + step));
    selectedId = rows[index].dataset.conversationId;
    selectedIndex = index;
    var row = markSelection();
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function shortcutStatus(message) {
    var el = document.querySelector("[data-shortcut-status]");
    if (!el) return;
    el.textContent = message || "";
    el.hidden = !message;
  }

  function postAction(id, action, fields) {
    var data = new FormData();
    data.append("csrf", body.dataset.csrf || "");
    Object.keys(fields).forEach(function (k) { data.append(k, fields[k]); });
    shortcutStatus("");
    return fetch("/inbox/conversations/" + id + "/" + action,
      { method: "POST", body: data, headers: FETCH, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { shortcutStatus((res.body.error || {}).message || text(body, "textFailed", "That did not work.")); return; }
        if (conversationId === id) refreshThread();
        refreshList();
      })
      .catch(function () { shortcutStatus(text(body, "textOffline", "The hub did not answer. Try again.")); });
  }

  function helpDialog() { return document.querySelector("[data-shortcuts-help]"); }

  function closeOverlays() {
    var help = helpDialog();
    var closed = false;
    if (help && help.open) { help.close(); closed = true; }
    document.querySelectorAll("[data-canned-list]:not([hidden])").forEach(function (list) {
      list.hidden = true; list.textContent = ""; closed = true;
    });
    if (!closed) shortcutStatus("");
    return closed;
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { if (closeOverlays()) e.preventDefault(); return; }
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    // Enter on a focused link or button is that control's own, not "open the selection".
    if (e.key === "Enter" && e.target.closest && e.target.closest("a, button, summary")) return;
    var help = helpDialog();
    if (help && help.open && e.key !== "?") return;  // the help is modal: only ? or Esc
    var target = selectedId || conversationId;
    switch (e.key) {
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "Enter": case "o": {
        var row = markSelection();
        var link = row && row.querySelector("a[href]");
        if (!link) return;
        location.assign(link.href);
        break;
      }
      case "a": if (!target) return; postAction(target, "assign", { operator_id: "me" }); break;
      case "r": if (!target) return; postAction(target, "status", { status: "resolved" }); break;
      case "/": {
        var search = document.querySelector("[data-filters] input[name=q]");
        if (!search) return;
        search.focus(); search.select();
        break;
      }
      case "?":
        if (!help) return;
        if (help.open) help.close(); else help.showModal();
        break;
      default: return;
    }
    e.preventDefault();
  });

  // ---- list rows: how long each customer has waited, kept current between refreshes ----
  function waitingTimes(root) {
    var list = root.querySelector ? root.querySelector("ul.rows[data-wait-min]") : null;
    if (!list) return;
    list.querySelectorAll("[data-waiting][data-since]").forEach(function (el) {
      var since = new Date(el.dataset.since);
      if (isNaN(since)) return;
      var minutes = Math.max(0, Math.floor((Date.now() - since.getTime()) / 60000));
      var n = minutes, fmt = list.dataset.waitMin;
      if (minutes >= 48 * 60) { n = Math.floor(minutes / 1440); fmt = list.dataset.waitD; }
      else if (minutes >= 60) { n = Math.floor(minutes / 60); fmt = list.dataset.waitH; }
      el.textContent = fmt.replace("{n}", String(n));
    });
  }
  document.addEventListener("hub:list", function () { waitingTimes(document); });
  setInterval(function () { waitingTimes(document); }, 30000);

  localTimes(document);
  var msgs = document.querySelector('[data-part="messages"]');
  if (msgs) {
    scrollToEnd(msgs);
    // Images load after the thread is laid out: each one that finishes while the thread
    // was at its end keeps it there, so a thread opens at its newest message.
    // Only the operator's own scrolling lets go of the end (the browser's scroll anchoring
    // also fires scroll events while images grow the thread); back at the end, it follows.
    var stuckToEnd = true;
    ["wheel", "touchmove", "keydown", "mousedown"].forEach(function (kind) {
      msgs.addEventListener(kind, function () { stuckToEnd = false; }, { passive: true });
    });
    msgs.addEventListener("scroll", function () {
      if (msgs.scrollHeight - msgs.scrollTop - msgs.clientHeight < 40) stuckToEnd = true;
    });
    msgs.addEventListener("load", function (e) {
      if (e.target && e.target.tagName === "IMG" && stuckToEnd) scrollToEnd(msgs);
    }, true);
  }
  markSelection();
  connect();
})();
