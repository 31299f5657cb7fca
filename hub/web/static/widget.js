/*
 * Hub web chat widget. A shop embeds it with one tag:
 *   <script src="https://HUB/webchat/widget.js" async></script>
 * Optional data-* attributes: data-title, data-color, data-open="1",
 * data-identity-name / -email / -phone / -hash (the shop's logged-in user).
 * Everything lives in an open shadow root (shop CSS cannot reach it, tests can)
 * and the only global is window.HubChat. Message text is only ever set with
 * textContent, never innerHTML.
 */
(function () {
  'use strict';
  if (window.HubChat || document.getElementById('hubchat-root')) return; // embedded twice: keep the first

  // currentScript is only set while this file runs synchronously, so read it first.
  const script = document.currentScript || findScript();
  const src = new URL(script ? script.src : '/webchat/widget.js', location.href);
  // The hub may live under a path prefix: strip only our own path from the src.
  const base = src.href.replace(/\/webchat\/widget\.js([?#].*)?$/, '');
  const WS_URL = base.replace(/^http/, 'ws') + '/webchat/ws';
  const TOKEN_KEY = 'hubchat.visitor_token';
  const LABELS = { operator: 'Support', bot: 'Bot', system: 'System' };

  const data = (script && script.dataset) || {};
  const title = data.title || 'Chat with us';
  let color = data.color || '#2563eb';
  if (window.CSS && CSS.supports && !CSS.supports('color', color)) color = '#2563eb';

  let ws = null;            // current socket; frames from older sockets are ignored
  let ready = false;        // true between welcome and close: only then are messages sent
  let attempt = 0;          // reconnect attempts since the last welcome
  let retryTimer = null, typingTimer = null, errorTimer = null;
  let typingSentAt = 0, unread = 0;
  // Identity is re-sent after every welcome, so a fresh visitor token keeps it.
  let identity = pick({
    name: data.identityName, email: data.identityEmail,
    phone: data.identityPhone, identity_hash: data.identityHash,
  });
  const pending = new Map(); // client_id -> {text, el}: resent after each welcome until acked
  const shown = new Map();   // message id -> element, to drop duplicates

  function findScript() {
    const all = document.getElementsByTagName('script');
    for (let i = all.length - 1; i >= 0; i--) {
      if (/\/webchat\/widget\.js([?#].*)?$/.test(all[i].src)) return all[i];
    }
    return null;
  }

  // Only these identify fields, only non-empty strings; null when nothing is left.
  function pick(info) {
    const out = {};
    ['name', 'email', 'phone', 'identity_hash'].forEach(function (k) {
      const v = info && info[k];
      if (v != null && String(v).trim()) out[k] = String(v).trim();
    });
    return Object.keys(out).length ? out : null;
  }

  // localStorage throws in some privacy modes and sandboxed iframes: chat still works, just anonymous each load.
  function storage(fn) {
    try { return fn(window.localStorage); } catch (e) { return null; }
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    const b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  /* ---------- DOM (static markup only; data goes in with textContent) ---------- */
  const host = document.createElement('div');
  host.id = 'hubchat-root';
  // Inline !important beats shop rules such as "body > div { display:none }".
  host.setAttribute('style', 'all:initial !important;display:block !important;');
  host.style.setProperty('--hc-color', color);
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = '<style>' +
    ':host{all:initial}' +
    '*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}' +
    '[hidden]{display:none!important}' +
    '.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;' +
      'background:var(--hc-color);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);' +
      'z-index:2147483000;display:flex;align-items:center;justify-content:center;padding:0}' +
    '.launcher svg{width:26px;height:26px;fill:currentColor}' +
    '.badge{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;' +
      'background:#e11d48;color:#fff;font-size:12px;line-height:20px;text-align:center}' +
    '.panel{position:fixed;right:20px;bottom:88px;width:360px;height:520px;max-width:calc(100vw - 24px);' +
      'max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;color:#111;' +
      'border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;z-index:2147483000;font-size:14px;line-height:1.4}' +
    'header{background:var(--hc-color);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}' +
    'header>div{flex:1;min-width:0}' +
    '.title{font-weight:600;font-size:15px}.status{font-size:12px;opacity:.85}' +
    '.close{background:none;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1;padding:0 4px}' +
    '.list{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}' +
    '.msg{max-width:80%;display:flex;flex-direction:column;align-self:flex-start;align-items:flex-start}' +
    '.msg.customer{align-self:flex-end;align-items:flex-end}' +
    '.label{font-size:11px;color:#667;margin:0 4px 2px}' +
    '.text{padding:8px 11px;border-radius:12px;background:#fff;border:1px solid #e3e5e8;white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.customer .text{background:var(--hc-color);color:#fff;border-color:transparent}' +
    '.msg[data-state=pending]{opacity:.6}' +
    '.typing{font-size:12px;color:#667;padding:2px 14px}' +
    '.error{font-size:12px;color:#b91c1c;background:#fef2f2;padding:6px 14px}' +
    'form{display:flex;gap:6px;padding:8px 10px;border-top:1px solid #eee;flex-wrap:wrap;align-items:center}' +
    'form p,.thanks{margin:0;width:100%;font-size:12px;color:#667}.thanks{padding:6px 12px;border-top:1px solid #eee}' +
    'input,textarea{flex:1;min-width:0;border:1px solid #d5d8dc;border-radius:8px;padding:7px 9px;font-size:14px;color:#111;background:#fff}' +
    'textarea{resize:none;height:38px}' +
    'button.btn{background:var(--hc-color);color:#fff;border:0;border-radius:8px;padding:8px 14px;cursor:pointer;font-size:14px}' +
    '.compose{display:flex;gap:6px;padding:10px;border-top:1px solid #eee}' +
    '.clip{background:none;border:1px solid #d5d8dc;border-radius:8px;width:38px;cursor:pointer;color:#556;padding:0;display:flex;align-items:center;justify-content:center}' +
    '.clip svg{width:18px;height:18px;fill:none;stroke:currentColor;stroke-width:2}' +
    '.chosen{font-size:12px;color:#556;padding:4px 12px 0;display:flex;gap:6px;align-items:center}' +
    '.chosen button{background:none;border:0;color:#b91c1c;cursor:pointer;font-size:14px;padding:0 2px}' +
    '.files{display:flex;flex-direction:column;gap:4px;margin-top:4px}' +
    '.files img{display:block;max-width:220px;max-height:180px;border-radius:8px;border:1px solid #e3e5e8}' +
    '.files a{color:inherit;overflow-wrap:anywhere}.file{font-size:13px}' +
    '.stars{display:flex;gap:4px;margin-top:6px}' +
    '.star{background:#fff;border:1px solid #d5d8dc;border-radius:8px;min-width:40px;height:40px;cursor:pointer;' +
      'font-size:15px;color:#556;padding:0 6px}.star:hover:not(:disabled),.star:focus-visible{border-color:var(--hc-color)}' +
    '.star[aria-pressed=true]{background:var(--hc-color);color:#fff;border-color:transparent}.star:disabled{cursor:default}' +
    // Phones: the panel takes the whole screen (dvh: the part the keyboard leaves).
    '@media (max-width:480px),(max-height:560px){.panel{inset:0;width:100%;height:100%;max-width:none;' +
      'max-height:none;height:100dvh;border-radius:0}.launcher{right:14px;bottom:14px}' +
      '.close{font-size:28px;padding:0 8px}textarea,input{font-size:16px}}' +
    // Dark mode follows the visitor's browser; the shop's colour stays the accent.
    '@media (prefers-color-scheme:dark){.panel{background:#1b1e24;color:#e8eaed}' +
      '.list{background:#14161a}.text{background:#262a31;border-color:#3a3f47;color:#e8eaed}' +
      '.label,.typing,form p,.thanks,.chosen{color:#aab1bc}.error{background:#3b1d1d;color:#ffb4ab}' +
      'form,.compose,.thanks{border-color:#30343b}' +
      'input,textarea{background:#14161a;color:#e8eaed;border-color:#3a3f47}' +
      '.clip{border-color:#3a3f47;color:#c3c8d0}.chosen button{color:#ffb4ab}' +
      '.star{background:#262a31;border-color:#3a3f47;color:#e8eaed}}' +
    '</style>' +
    '<button class="launcher" type="button" data-hubchat="launcher" aria-label="Open chat" aria-expanded="false">' +
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
      '<span class="badge" data-hubchat="unread" hidden></span></button>' +
    '<section class="panel" data-hubchat="panel" role="dialog" aria-label="Chat" hidden>' +
      '<header><div><div class="title" data-hubchat="title"></div>' +
      '<div class="status" data-hubchat="status" aria-live="polite">connecting\u2026</div></div>' +
      '<button class="close" type="button" data-hubchat="close" aria-label="Close chat">\u00d7</button></header>' +
      '<div class="error" data-hubchat="error" role="alert" hidden></div>' +
      '<div class="list" data-hubchat="messages" aria-live="polite"></div>' +
      '<div class="typing" data-hubchat="typing" hidden>typing\u2026</div>' +
      '<form data-hubchat="identify"><p>Leave your details so we can reply if you go away:</p>' +
        '<input name="name" data-hubchat="identify-name" placeholder="Name" autocomplete="name">' +
        '<input name="email" type="email" data-hubchat="identify-email" placeholder="Email" autocomplete="email">' +
        '<button class="btn" type="submit" data-hubchat="identify-submit">Save</button></form>' +
      '<div class="thanks" data-hubchat="identified" hidden></div>' +
      '<div class="chosen" data-hubchat="chosen" hidden><span data-hubchat="chosen-name"></span>' +
        '<button type="button" data-hubchat="unattach" aria-label="Remove the file">\u00d7</button></div>' +
      '<div class="compose"><button class="clip" type="button" data-hubchat="attach" aria-label="Attach a file" title="Attach a file">' +
        '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/></svg></button>' +
        '<input type="file" data-hubchat="file-input" hidden>' +
        '<textarea data-hubchat="input" rows="1" placeholder="Type a message\u2026" aria-label="Message"></textarea>' +
        '<button class="btn" type="button" data-hubchat="send">Send</button></div>' +
    '</section>';

  function $(name) { return root.querySelector('[data-hubchat="' + name + '"]'); }
  const launcher = $('launcher'), panel = $('panel'), list = $('messages'), input = $('input');
  const statusEl = $('status'), typingEl = $('typing'), errorEl = $('error'), badge = $('unread');
  const form = $('identify'), thanks = $('identified');
  const fileInput = $('file-input'), chosen = $('chosen'), chosenName = $('chosen-name');
  const UPLOAD_URL = base + '/webchat/upload';
  const IMAGES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
  let visitorToken = null;  // kept in memory too: uploads work where localStorage does not
  $('title').textContent = title;
  if (identity) form.hidden = true; // the shop already told us who this is

  function open(focus) {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    unread = 0; badge.hidden = true;
    list.scrollTop = list.scrollHeight;
    if (focus) input.focus(); // not on page load: never steal focus from the shop page
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
  }

  function renderMessage(m) {
    const sender = m.sender_type || 'bot';
    const el = document.createElement('div');
    el.className = 'msg ' + (sender === 'customer' ? 'customer' : 'other');
    el.dataset.hubchat = 'message';
    el.dataset.sender = sender;
    if (m.id != null) el.dataset.id = String(m.id);
    const when = m.created_at ? new Date(m.created_at) : null;
    if (when && !isNaN(when)) el.title = when.toLocaleString();
    if (sender !== 'customer') {
      const label = document.createElement('div');
      label.className = 'label';
      label.dataset.hubchat = 'label';
      label.textContent = LABELS[sender] || sender;
      el.appendChild(label);
    }
    const text = document.createElement('div');
    text.className = 'text';
    text.dataset.hubchat = 'text';
    text.textContent = m.text == null ? '' : String(m.text);
    const files = Array.isArray(m.attachments) ? m.attachments : [];
    if (files.length && !text.textContent) text.hidden = true; // a file alone
    el.appendChild(text);
    if (files.length) el.appendChild(renderFiles(files));
    return el;
  }

  // Only the hub's own http(s) links; a name is text, never markup.
  function safeUrl(url) {
    try {
      const u = new URL(String(url), base);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) { return null; }
  }

  // Images inline (a click opens them), other files as links; a file not uploaded yet
  // (no url) shows its name.
  function renderFiles(files) {
    const box = document.createElement('div');
    box.className = 'files';
    files.forEach(function (f) {
      const item = document.createElement('div');
      item.className = 'file';
      item.dataset.hubchat = 'file';
      const name = f && f.name ? String(f.name) : 'file';
      // `local`: the visitor's own image, shown from the file itself while it uploads.
      const url = f && f.local ? f.local : (f && f.url ? safeUrl(f.url) : null);
      if (!url) {
        item.textContent = name;
      } else {
        const a = document.createElement('a');
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        if (IMAGES.indexOf(f.content_type) >= 0) {
          const img = document.createElement('img');
          img.src = url;
          img.alt = name;
          img.dataset.hubchat = 'image';
          a.appendChild(img);
        } else {
          a.textContent = name;
          a.dataset.hubchat = 'file-link';
        }
        item.appendChild(a);
      }
      box.appendChild(item);
    });
    return box;
  }

  // Appends unless that id is already shown; returns whether it was added.
  function addMessage(m) {
    const id = m.id == null ? null : String(m.id);
    if (id !== null && shown.has(id)) return false;
    const el = renderMessage(m);
    list.appendChild(el);
    if (id !== null) shown.set(id, el);
    return true;
  }

  // Images load after they are laid out: one that ends loading while the list was at its
  // end keeps it there, so a thread opens (and stays) at its newest message.
  let stuckToEnd = true;
  list.addEventListener('scroll', function () {
    stuckToEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  });
  list.addEventListener('load', function (e) {
    if (e.target && e.target.tagName === 'IMG' && stuckToEnd) list.scrollTop = list.scrollHeight;
  }, true);
  // The satisfaction question: its bubble (from history or added here) gets five buttons;
  // once answered (f.rating set) they show the choice and are disabled.
  function showRating(f) {
    const id = f.id == null ? null : String(f.id);
    if (id === null || !shown.has(id)) {
      addMessage({ id: f.id, sender_type: 'system', text: f.question, created_at: f.created_at });
    }
    const bubble = shown.get(id);
    if (!bubble) return;
    let stars = bubble.querySelector('[data-hubchat="csat"]');
    if (!stars) {
      stars = document.createElement('div');
      stars.className = 'stars';
      stars.dataset.hubchat = 'csat';
      stars.setAttribute('role', 'group');
      stars.setAttribute('aria-label', 'Rate us from 1 to 5');
      for (let n = 1; n <= 5; n++) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'star';
        b.dataset.hubchat = 'csat-star';
        b.dataset.rating = String(n);
        b.textContent = n + ' \u2605';
        b.setAttribute('aria-label', n + ' of 5');
        b.setAttribute('aria-pressed', 'false');
        b.addEventListener('click', function () {
          if (!ready) return;
          stars.querySelectorAll('button').forEach(function (x) { x.disabled = true; });
          b.setAttribute('aria-pressed', 'true');
          sendFrame({ type: 'csat', rating: n, conversation_id: f.conversation_id });
        });
        stars.appendChild(b);
      }
      bubble.appendChild(stars);
    }
    if (f.rating != null) {
      stars.dataset.rating = String(f.rating);
      stars.querySelectorAll('button').forEach(function (x) {
        x.disabled = true;
        x.setAttribute('aria-pressed', x.dataset.rating === String(f.rating) ? 'true' : 'false');
      });
    }
    list.scrollTop = list.scrollHeight;
  }

  function setStatus(text) { statusEl.textContent = text; }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () { errorEl.hidden = true; }, 8000);
  }

  /* ---------- socket ---------- */
  function sendFrame(frame) {
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(retryTimer);
    ready = false;
    let sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    sock.onopen = function () {
      // The token goes in the first frame, never in the URL (URLs end up in access logs).
      const token = storage(function (s) { return s.getItem(TOKEN_KEY); });
      sendFrame(token ? { type: 'hello', visitor_token: token } : { type: 'hello' });
    };
    sock.onmessage = function (ev) {
      if (sock !== ws) return;
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && typeof f.type === 'string' && Object.prototype.hasOwnProperty.call(handlers, f.type)) handlers[f.type](f);
    };
    sock.onclose = function () {
      if (sock !== ws) return; // a socket we already gave up on
      ws = null;
      ready = false;
      setStatus('reconnecting\u2026');
      scheduleReconnect();
    };
  }

  // 0.5 s doubling to 10 s; jitter so many visitors don't all reconnect at the same instant after a hub restart.
  function scheduleReconnect(delay) {
    clearTimeout(retryTimer);
    if (delay === undefined) {
      const max = Math.min(10000, 500 * Math.pow(2, attempt++));
      delay = max / 2 + Math.random() * max / 2;
    }
    retryTimer = setTimeout(connect, delay);
  }

  const handlers = {
    welcome: function (f) {
      if (f.visitor_token) {
        visitorToken = f.visitor_token;
        storage(function (s) { s.setItem(TOKEN_KEY, f.visitor_token); });
      }
      attempt = 0;
      ready = true;
      setStatus('connected');
      // History replaces the list; unacked messages stay visible after it.
      list.textContent = '';
      shown.clear();
      (f.history || []).forEach(addMessage);
      pending.forEach(function (p) { list.appendChild(p.el); });
      if (identity) sendFrame(Object.assign({ type: 'identify' }, identity));
      else remembered(f.details);
      // Same client_id as before: the server dedupes a message it already stored.
      pending.forEach(function (p, cid) { sendPending(cid); });
      list.scrollTop = list.scrollHeight;
    },
    ack: function (f) {
      const p = pending.get(f.client_id);
      if (!p) return;
      pending.delete(f.client_id);
      const id = String(f.id);
      if (shown.has(id)) { p.el.remove(); return; } // its echo (or history) already shows it
      p.el.dataset.id = id;
      p.el.dataset.state = 'sent';
      shown.set(id, p.el);
    },
    message: function (f) {
      if (!addMessage(f)) return;
      list.scrollTop = list.scrollHeight;
      if (f.sender_type !== 'customer') {
        typingEl.hidden = true; // the reply they were typing has arrived
        if (panel.hidden) { unread++; badge.textContent = String(unread); badge.hidden = false; }
      }
    },
    csat: function (f) {
      showRating(f);
      if (f.rating == null && panel.hidden) { unread++; badge.textContent = String(unread); badge.hidden = false; }
    },
    typing: function () {
      typingEl.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingEl.hidden = true; }, 3000);
    },
    error: function (f) {
      showError(f.message || f.code || 'Error');
      if (f.code === 'invalid_token') {
        // Forged or expired token: forget it and start again as a new visitor.
        storage(function (s) { s.removeItem(TOKEN_KEY); });
        const old = ws;
        ws = null;
        ready = false;
        if (old) old.close();
        setStatus('reconnecting\u2026');
        scheduleReconnect();
      }
    },
  };

  /* ---------- public actions ---------- */
  // A message with a file waits for its upload (which needs the visitor token, so the
  // first welcome) before its frame goes out; a failed upload drops it with the reason.
  function sendPending(cid) {
    const p = pending.get(cid);
    if (!p || !ready) return;
    if (!p.file) { sendFrame({ type: 'message', text: p.text, client_id: cid }); return; }
    if (p.uploadId) {
      sendFrame({ type: 'message', text: p.text, client_id: cid, attachments: [p.uploadId] });
      return;
    }
    if (p.uploading || !visitorToken) return;
    p.uploading = true;
    const body = new FormData();
    body.append('visitor_token', visitorToken); // first: checked before the file is read
    body.append('file', p.file, p.file.name);
    fetch(UPLOAD_URL, { method: 'POST', body: body, credentials: 'omit' })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        p.uploading = false;
        if (!res.ok || !res.body.upload_id) {
          const error = res.body && res.body.error;
          throw new Error(error && error.message ? error.message : 'The file could not be sent.');
        }
        p.uploadId = res.body.upload_id;
        sendPending(cid);
      })
      .catch(function (err) {
        p.uploading = false;
        pending.delete(cid);
        p.el.remove();
        showError(err && err.message ? err.message : 'The file could not be sent.');
      });
  }

  function send(text, file) {
    text = text == null ? '' : String(text);
    if (!text.trim() && !file) return null;
    const cid = newId();
    const own = file && IMAGES.indexOf(file.type) >= 0 && window.URL && URL.createObjectURL;
    const files = file ? [own ? { name: file.name, content_type: file.type, local: URL.createObjectURL(file) }
      : { name: file.name }] : [];
    const el = renderMessage({ sender_type: 'customer', text: text, attachments: files });
    el.dataset.clientId = cid;
    el.dataset.state = 'pending';
    list.appendChild(el);
    list.scrollTop = list.scrollHeight;
    pending.set(cid, { text: text, el: el, file: file || null, uploadId: null, uploading: false });
    sendPending(cid); // else queued until welcome
    return cid;
  }

  function chooseFile(file) {
    chosenName.textContent = file ? file.name : '';
    chosen.hidden = !file;
    if (!file) fileInput.value = '';
  }

  function identify(info) {
    const f = pick(info);
    if (!f) return;
    identity = f;
    if (ready) sendFrame(Object.assign({ type: 'identify' }, f));
    form.hidden = true;
    thanks.textContent = f.email ? 'Thanks! We will reply to ' + f.email + ' if you leave.' : 'Thanks!';
    thanks.hidden = false;
  }

  // A visitor who saved their details earlier (the hub remembers them): no form again.
  function remembered(details) {
    const d = pick(details);
    if (!d) return;
    form.hidden = true;
    thanks.textContent = d.email ? 'We will reply to ' + d.email + ' if you leave.' : 'Thanks, ' + (d.name || '') + '!';
    thanks.hidden = false;
  }

  /* ---------- events ---------- */
  launcher.addEventListener('click', function () { if (panel.hidden) open(true); else close(); });
  $('close').addEventListener('click', close);
  function sendInput() {
    const file = fileInput.files && fileInput.files[0];
    if (send(input.value, file)) { input.value = ''; chooseFile(null); }
    input.focus();
  }
  $('attach').addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () { chooseFile(fileInput.files && fileInput.files[0]); });
  $('unattach').addEventListener('click', function () { chooseFile(null); input.focus(); });
  $('send').addEventListener('click', sendInput);
  input.addEventListener('keydown', function (e) {
    // Enter sends, Shift+Enter adds a line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendInput();
    }
  });
  input.addEventListener('input', function () {
    const now = Date.now();
    if (ready && input.value && now - typingSentAt >= 2000) { typingSentAt = now; sendFrame({ type: 'typing' }); }
  });
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    identify({ name: form.elements.name.value, email: form.elements.email.value });
  });
  // Back online: don't sit out the remaining backoff.
  window.addEventListener('online', function () { if (!ws) scheduleReconnect(0); });

  function mount() {
    document.body.appendChild(host);
    if (data.open === '1' || data.open === 'true') open(false);
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  connect();

  window.HubChat = {
    open: function () { open(true); },
    close: close,
    send: send,
    identify: identify,
    sendFile: function (file, text) { return send(text, file); },
  };
})();
