// Notice for an operator who is not watching the list: the unread count in the tab title
// and on the favicon, an optional tone, and desktop notifications for new conversations and
// for customers' messages in threads assigned to me. The browser is asked for permission
// only when the operator clicks "Turn on desktop notifications", never on page load.
// Listens to inbox.js: "hub:notice" (each live notice) and "hub:list" (the list swapped).
(function () {
  "use strict";
  var box = document.querySelector("[data-notify]");
  if (!box) return;
  var me = box.dataset.operatorId || "";
  var current = document.body.dataset.conversationId || null;
  var baseTitle = document.title;
  var icon = document.querySelector('link[rel="icon"]');
  var plainIcon = icon ? { href: icon.getAttribute("href"), type: icon.getAttribute("type") } : null;
  var SOUND = "hub.notice.sound";      // "on" | absent: the tone is off by default
  var DESKTOP = "hub.notice.desktop";  // "off" | absent: on once the browser allows it
  var desktopButton = box.querySelector("[data-notify-desktop]");
  var soundButton = box.querySelector("[data-notify-sound]");

  function words(name, fallback) { return box.dataset[name] || fallback; }
  // localStorage throws in some privacy modes: then the choices last for this page only.
  var memory = {};
  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return memory[key] || null; }
  }
  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key); else window.localStorage.setItem(key, value);
    } catch (e) { memory[key] = value; }
  }

  // ---- unread count: title and favicon ------------------------------------------
  // The list's unread rows, less the thread open on this page (opening it marks it read).
  function unreadCount() {
    return document.querySelectorAll("[data-list] .row.unread:not(.current)").length;
  }

  var iconImage = null;
  if (plainIcon) {
    iconImage = new Image(32, 32);
    iconImage.onload = function () { showCount(); };  // redraw with the real icon under the badge
    iconImage.src = plainIcon.href;
  }

  function badgeIcon(n) {
    var canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    var g = canvas.getContext("2d");
    if (!g) return null;
    if (iconImage && iconImage.complete && iconImage.naturalWidth) g.drawImage(iconImage, 0, 0, 32, 32);
    g.fillStyle = "#d93025";
    g.beginPath(); g.arc(21, 11, 11, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#fff";
    g.font = "bold 15px system-ui, sans-serif";
    g.textAlign = "center"; g.textBaseline = "middle";
    g.fillText(n > 9 ? "9+" : String(n), 21, 12);
    return canvas.toDataURL("image/png");
  }

  function showCount() {
    var n = unreadCount();
    document.title = n ? "(" + n + ") " + baseTitle : baseTitle;
    box.dataset.unread = String(n);
    if (!icon || !plainIcon) return;
    var badged = n ? badgeIcon(n) : null;
    if (badged) { icon.setAttribute("type", "image/png"); icon.setAttribute("href", badged); }
    else { icon.setAttribute("type", plainIcon.type || ""); icon.setAttribute("href", plainIcon.href); }
  }

  // ---- sound: a short tone made with WebAudio (no file to fetch) ------------------
  var audio = null;
  function tone() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      var t = audio.currentTime;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.12);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(t); osc.stop(t + 0.32);
    } catch (e) { /* no audio device: the notice still shows */ }
  }

  function soundOn() { return stored(SOUND) === "on"; }
  function showSound() {
    if (!soundButton) return;
    var on = soundOn();
    soundButton.hidden = false;
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    soundButton.textContent = on ? words("textSoundOn", "Sound: on") : words("textSoundOff", "Sound: off");
  }
  if (soundButton) {
    soundButton.addEventListener("click", function () {
      store(SOUND, soundOn() ? null : "on");
      showSound();
      if (soundOn()) tone();  // the operator hears what they chose (and the click unlocks audio)
    });
  }

  // ---- desktop notifications ------------------------------------------------------
  function desktopState() {
    if (!("Notification" in window)) return "unsupported";
    if (Notification.permission === "denied") return "denied";
    if (Notification.permission !== "granted") return "ask";
    return stored(DESKTOP) === "off" ? "off" : "on";
  }

  function showDesktop() {
    if (!desktopButton) return;
    var state = desktopState();
    desktopButton.hidden = state === "unsupported" || state === "denied";
    desktopButton.dataset.state = state;
    desktopButton.textContent = state === "ask" ? words("textAsk", "Turn on desktop notifications")
      : state === "on" ? words("textDesktopOn", "Desktop notifications: on")
      : words("textDesktopOff", "Desktop notifications: off");
  }
  if (desktopButton) {
    desktopButton.addEventListener("click", function () {
      var state = desktopState();
      if (state === "ask") {
        store(DESKTOP, null);
        var asked = Notification.requestPermission(showDesktop);  // old browsers: a callback
        if (asked && asked.then) asked.then(showDesktop);
      } else if (state === "on" || state === "off") {
        store(DESKTOP, state === "on" ? "off" : null);
        showDesktop();
      }
    });
  }

  function rowOf(id) {
    return document.querySelector('[data-list] .row[data-conversation-id="' + id + '"]');
  }

  function show(item) {
    var row = rowOf(item.id);
    var name = row && row.querySelector("[data-name]");
    var last = row && row.querySelector("[data-last]");
    var heading = item.kind === "conversation" ? words("textNewConversation", "New conversation")
      : words("textNewMessage", "New message");
    var note = new Notification(name ? heading + " · " + name.textContent : heading, {
      body: last ? last.textContent : "",
      tag: "hub-conversation-" + item.id,  // one per thread, also across open tabs
      icon: plainIcon ? plainIcon.href : undefined,
    });
    note.onclick = function () {
      window.focus();
      location.assign("/inbox/conversations/" + item.id);
      note.close();
    };
  }

  // A notice is told once the list has been refetched (its row gives the name and text),
  // or after a short wait where this page has no list.
  var waiting = [];
  var fallback = null;
  // `fetchedAfter`: only notices that came before the list was fetched, and have a row in it
  // (a fetch already under way when a message came shows the thread's older text).
  function flush(fetchedAfter) {
    var now = waiting.filter(function (w) {
      return fetchedAfter === undefined || (w.at <= fetchedAfter && rowOf(w.id));
    });
    waiting = waiting.filter(function (w) { return now.indexOf(w) < 0; });
    if (!waiting.length) { clearTimeout(fallback); fallback = null; }
    if (desktopState() === "on") now.forEach(show);
  }

  function worthTelling(n) {
    if (n.name === "conversation.created") return "conversation";
    if (n.name === "message.created" && n.sender === "customer" &&
        n.assignee_id !== null && n.assignee_id !== undefined && String(n.assignee_id) === me) return "message";
    return null;
  }

  document.addEventListener("hub:notice", function (e) {
    var n = e.detail || {};
    var kind = worthTelling(n);
    if (!kind) return;
    var id = String(n.conversation_id);
    // The thread in front of the operator needs no notice; a hidden tab's does.
    if (id === current && document.visibilityState === "visible" && document.hasFocus()) return;
    if (soundOn()) tone();
    if (desktopState() !== "on") return;
    var known = waiting.filter(function (w) { return w.id === id; })[0];
    if (known) known.at = performance.now();
    else waiting.push({ kind: kind, id: id, at: performance.now() });
    if (!fallback) {
      fallback = setTimeout(function () { fallback = null; flush(); },
        document.querySelector("[data-list]") ? 5000 : 0);
    }
  });

  document.addEventListener("hub:list", function (e) {
    showCount();
    var started = e.detail && e.detail.started;
    if (waiting.length) flush(typeof started === "number" ? started : performance.now());
  });

  showSound();
  showDesktop();
  showCount();
})();
