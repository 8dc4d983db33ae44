// Sportello web chat. Plain ES2017, no framework, no build step.
// Server text reaches the page only through textContent and DOM nodes, never as HTML.
(function () {
  'use strict';

  var bootEl = document.getElementById('boot');
  if (!bootEl || !window.fetch || !window.JSON) return;
  var ui = JSON.parse(bootEl.textContent);
  var S = ui.strings;

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    html: document.documentElement,
    chat: $('chat'),
    log: $('messages'),
    pending: $('pending'),
    typing: $('typing'),
    typingText: $('typing-text'),
    status: $('status'),
    announcer: $('announcer'),
    form: $('composer'),
    input: $('input'),
    inputLabel: $('input-label'),
    send: $('send'),
    sendLabel: $('send-label'),
    language: $('language'),
    languageLabel: $('language-label'),
    title: $('title'),
    subtitle: $('subtitle'),
    privacy: $('privacy'),
    skip: $('skip')
  };

  var state = {
    last: 0,          // newest entry shown
    pendingLang: '',  // chosen in the menu, sent with the next message
    inFlight: 0,      // POSTs under way: "typing…"
    queue: Promise.resolve(),
    es: null,
    failures: 0,
    reconnectTimer: 0,
    pollTimer: 0,
    offlineShown: false,
    started: false
  };

  // ---- small DOM helpers ----

  function h(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text != null) n.textContent = String(text);
    return n;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function safeURL(u) {
    if (typeof u !== 'string' || !/^https?:\/\//i.test(u)) return '';
    try {
      var parsed = new URL(u);
      return (parsed.protocol === 'https:' || parsed.protocol === 'http:') ? parsed.href : '';
    } catch (e) {
      return '';
    }
  }

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  function nearBottom() {
    var c = els.chat;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 120;
  }

  // An instant jump: a smooth scroll still under way would make the next nearBottom() wrong.
  function scrollToEnd() {
    els.chat.scrollTop = els.chat.scrollHeight;
  }

  var timeFormat = null;
  function formatTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    try {
      if (!timeFormat || timeFormat.lang !== ui.lang) {
        timeFormat = { lang: ui.lang, f: new Intl.DateTimeFormat(ui.lang, { hour: '2-digit', minute: '2-digit' }) };
      }
      return timeFormat.f.format(d);
    } catch (e) {
      return '';
    }
  }

  // ---- rendering entries ----

  function renderSpans(container, spans) {
    (spans || []).forEach(function (sp) {
      if (!sp || typeof sp.text !== 'string') return;
      var url = sp.url ? safeURL(sp.url) : '';
      if (url) {
        var a = h('a', 'link', sp.text);
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.appendChild(h('span', 'visually-hidden', ' ' + S.new_tab));
        container.appendChild(a);
      } else if (sp.bold) {
        container.appendChild(h('strong', null, sp.text));
      } else {
        container.appendChild(document.createTextNode(sp.text));
      }
    });
  }

  function renderButtons(rows) {
    var group = h('div', 'choices');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', S.choices);
    rows.forEach(function (row) {
      if (!Array.isArray(row)) return;
      var line = h('div', 'choice-row');
      row.forEach(function (b) {
        if (!b || typeof b.label !== 'string') return;
        var url = b.url ? safeURL(b.url) : '';
        if (url) {
          var a = h('a', 'choice choice-link', b.label);
          a.href = url;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          a.appendChild(h('span', 'visually-hidden', ' ' + S.new_tab));
          line.appendChild(a);
        } else if (b.action) {
          var btn = h('button', 'choice', b.label);
          btn.type = 'button';
          btn.addEventListener('click', function () { pressButton(btn, b.action); });
          line.appendChild(btn);
        }
      });
      if (line.firstChild) group.appendChild(line);
    });
    return group.firstChild ? group : null;
  }

  function entryNode(e) {
    var from = (e.from === 'user' || e.from === 'staff') ? e.from : 'bot';
    if (e.staff) from = 'staff';
    var item = h('div', 'msg msg-' + from);
    item.id = 'm' + e.seq;
    item.setAttribute('data-seq', String(e.seq));
    if (e.article) item.setAttribute('data-article', String(e.article));

    var who = h('p', from === 'staff' ? 'who who-staff' : 'who visually-hidden',
      from === 'user' ? S.you : (from === 'staff' ? S.staff : S.bot));
    item.appendChild(who);

    var bubble = h('div', 'bubble');
    if (e.lang) bubble.lang = e.lang;
    bubble.dir = e.dir === 'rtl' ? 'rtl' : 'ltr';
    if (e.spans && e.spans.length) {
      var text = h('p', 'text');
      renderSpans(text, e.spans);
      bubble.appendChild(text);
    }
    if (Array.isArray(e.buttons) && e.buttons.length) {
      var group = renderButtons(e.buttons);
      if (group) bubble.appendChild(group);
    }
    item.appendChild(bubble);

    var when = formatTime(e.at);
    if (when) {
      var t = h('time', 'meta', when);
      t.dateTime = e.at;
      t.dir = 'auto';
      item.appendChild(t);
    }
    return item;
  }

  function render(e) {
    if (!e || typeof e.seq !== 'number' || e.seq <= state.last) return false;
    state.last = e.seq;
    els.log.appendChild(entryNode(e));
    if (e.from === 'user') dropPendingMatching(e);
    return true;
  }

  function applyPage(p) {
    if (!p) return;
    var stick = nearBottom();
    if (p.reset) resetLog();
    var follow = '';
    (p.entries || []).forEach(function (e) {
      if (!render(e)) return;
      if (e.from === 'user') stick = true;
      if (e.from === 'bot' && !e.staff && e.lang) follow = e.lang;
    });
    if (stick) scrollToEnd();
    if (follow) followLanguage(follow);
  }

  function resetLog() {
    clear(els.log);
    state.last = 0;
    announce(S.cleared);
  }

  // ---- status line ----

  // announce tells screen readers about something shown elsewhere (a failed message).
  var announceTimer = 0;
  function announce(text) {
    clearTimeout(announceTimer);
    els.announcer.textContent = text;
    announceTimer = setTimeout(function () { els.announcer.textContent = ''; }, 7000);
  }

  // The connection notice stays while the page is offline.
  var statusTimer = 0;
  function showStatus(text, offline, hideAfter) {
    clearTimeout(statusTimer);
    els.status.textContent = text;
    els.status.hidden = false;
    els.status.classList.toggle('is-offline', offline);
    if (hideAfter) statusTimer = setTimeout(function () { els.status.hidden = true; }, hideAfter);
  }

  function setOffline(off) {
    if (off && !state.offlineShown) {
      state.offlineShown = true;
      showStatus(S.offline, true, 0);
    } else if (!off && state.offlineShown) {
      state.offlineShown = false;
      showStatus(S.online, false, 3000);
      // Back online: send again what could not be sent (same idempotency keys, so never twice).
      Array.prototype.forEach.call(els.pending.querySelectorAll('.is-failed .retry'), function (b) { b.click(); });
    }
  }

  function typing(delta) {
    state.inFlight += delta;
    els.typing.hidden = state.inFlight <= 0;
    if (state.inFlight > 0 && nearBottom()) scrollToEnd();
  }

  // ---- sending ----

  function post(body, key) {
    body.after = state.last;
    if (state.pendingLang) body.lang = state.pendingLang;
    return fetch('/api/messages', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key, 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { ok: res.ok, status: res.status, data: data };
      });
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // send posts one message; retries (same idempotency key) on network errors and 5xx.
  function send(body, key, attempt) {
    attempt = attempt || 0;
    var langSent = state.pendingLang;
    return post(body, key).then(function (r) {
      if (r.ok) {
        if (langSent && state.pendingLang === langSent) state.pendingLang = '';
        applyPage(r.data);
        return r;
      }
      if ((r.status >= 500 || r.status === 429) && attempt < 2) {
        return sleep(1000 * (attempt + 1) * 2).then(function () { return send(body, key, attempt + 1); });
      }
      return r;
    }, function (err) {
      if (attempt < 2) {
        return sleep(1000 * (attempt + 1) * 2).then(function () { return send(body, key, attempt + 1); });
      }
      return { ok: false, status: 0, data: {}, error: err };
    });
  }

  // enqueue keeps messages in the order the user sent them.
  function enqueue(body, key, pending) {
    state.queue = state.queue.then(function () {
      typing(+1);
      if (pending) setPending(pending, 'sending');
      return send(body, key).then(function (r) {
        typing(-1);
        if (r.ok) {
          if (pending && pending.parentNode) pending.parentNode.removeChild(pending);
          return;
        }
        var message = (r.data && typeof r.data.error === 'string' && r.data.error) || S.failed;
        var retryable = r.status === 0 || r.status >= 500 || r.status === 429;
        if (pending) {
          setPending(pending, 'failed', message, retryable ? function () { enqueue(body, key, pending); } : null);
        } else {
          announce(message);
        }
        if (!retryable && body.text && !els.input.value) {
          els.input.value = body.text;
          autosize();
        }
      });
    });
    return state.queue;
  }

  function pendingNode(text) {
    var item = h('div', 'msg msg-user is-pending');
    var bubble = h('div', 'bubble');
    bubble.dir = 'auto';
    bubble.appendChild(h('p', 'text', text));
    item.appendChild(bubble);
    var meta = h('p', 'meta pending-meta');
    item.appendChild(meta);
    item.setAttribute('data-text', text);
    return item;
  }

  function setPending(item, status, message, retry) {
    var meta = item.querySelector('.pending-meta');
    clear(meta);
    item.classList.toggle('is-failed', status === 'failed');
    if (status === 'sending') {
      meta.textContent = S.sending;
      return;
    }
    meta.appendChild(h('span', 'pending-error', message));
    if (retry) {
      var b = h('button', 'retry', S.retry);
      b.type = 'button';
      b.addEventListener('click', function () { retry(); });
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(b);
    }
    announce(message);
  }

  function dropPendingMatching(e) {
    var text = e.spans && e.spans[0] && e.spans[0].text;
    var nodes = els.pending.children;
    for (var i = 0; i < nodes.length; i++) {
      if (!nodes[i].classList.contains('is-failed') && nodes[i].getAttribute('data-text') === text) {
        els.pending.removeChild(nodes[i]);
        return;
      }
    }
  }

  function sendText() {
    var text = els.input.value;
    if (!text.trim()) {
      els.input.focus();
      return;
    }
    els.input.value = '';
    autosize();
    var pending = pendingNode(text);
    els.pending.appendChild(pending);
    scrollToEnd();
    enqueue({ text: text }, newKey(), pending);
    els.input.focus();
  }

  function pressButton(btn, action) {
    if (btn.getAttribute('aria-busy') === 'true') return;
    btn.setAttribute('aria-busy', 'true');
    btn.classList.add('is-chosen');
    enqueue({ action: action }, newKey(), null).then(function () {
      btn.removeAttribute('aria-busy');
    });
  }

  function startConversation() {
    if (state.started) return;
    state.started = true;
    enqueue({ start: true }, newKey(), null);
  }

  // ---- receiving: Server-Sent Events, with polling when EventSource is missing ----

  function loadHistory() {
    return fetch('/api/history?after=' + state.last, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('history ' + res.status);
        return res.json();
      })
      .then(function (p) { applyPage(p); return p; });
  }

  function backoff() {
    var base = Math.min(30000, 1000 * Math.pow(2, Math.max(0, state.failures - 1)));
    return Math.round(base * (0.5 + Math.random() / 2));
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (!window.EventSource) {
      poll();
      return;
    }
    if (state.es) state.es.close();
    var es = new EventSource('/api/events?after=' + state.last);
    state.es = es;
    es.onopen = function () {
      state.failures = 0;
      setOffline(false);
    };
    es.onmessage = function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      applyPage({ entries: [e] });
    };
    es.addEventListener('reset', function () { resetLog(); });
    es.onerror = function () {
      // Reconnect ourselves: the browser gives up for good after an HTTP error.
      es.close();
      if (state.es !== es) return;
      state.es = null;
      state.failures++;
      // A stream that ends on schedule reconnects at once; a notice only when that fails.
      if (state.failures > 1 || !navigator.onLine) setOffline(true);
      state.reconnectTimer = setTimeout(connect, state.failures > 1 ? backoff() : 300);
    };
  }

  function poll() {
    clearTimeout(state.pollTimer);
    loadHistory().then(function () {
      state.failures = 0;
      setOffline(false);
      state.pollTimer = setTimeout(poll, 4000);
    }, function () {
      state.failures++;
      setOffline(true);
      state.pollTimer = setTimeout(poll, backoff());
    });
  }

  window.addEventListener('online', function () {
    if (!state.es) { state.failures = 0; connect(); }
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && window.EventSource && !state.es) connect();
  });

  // ---- language ----

  function hasLanguage(code) {
    return ui.languages.some(function (l) { return l.code === code; });
  }

  function rememberLanguage(code) {
    document.cookie = 'sportello_lang=' + encodeURIComponent(code) + '; path=/; max-age=31536000; samesite=lax';
  }

  function applyUI(next) {
    ui = next;
    S = next.strings;
    els.html.lang = next.lang;
    els.html.dir = next.dir === 'rtl' ? 'rtl' : 'ltr';
    document.title = S.title;
    els.title.textContent = S.title;
    els.subtitle.textContent = next.desk || S.tagline;
    els.languageLabel.textContent = S.language;
    els.log.setAttribute('aria-label', S.messages);
    els.inputLabel.textContent = S.input;
    els.input.setAttribute('aria-label', S.input);
    els.input.placeholder = S.placeholder;
    els.send.setAttribute('aria-label', S.send);
    els.sendLabel.textContent = S.send;
    els.typingText.textContent = S.typing;
    els.privacy.textContent = S.privacy;
    els.skip.textContent = S.skip;
    if (els.language.value !== next.lang) els.language.value = next.lang;
    if (state.offlineShown) els.status.textContent = S.offline;
  }

  function setLanguage(code, explicit) {
    if (!hasLanguage(code)) return Promise.resolve();
    if (explicit) state.pendingLang = code;
    rememberLanguage(code);
    if (code === ui.lang) return Promise.resolve();
    return fetch('/api/ui?lang=' + encodeURIComponent(code), { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (res) { if (!res.ok) throw new Error('ui ' + res.status); return res.json(); })
      .then(function (next) { if (next && next.strings) applyUI(next); })
      .catch(function () { els.language.value = ui.lang; });
  }

  // The page follows the language the bot answers in (the user may have written in it, or
  // picked it in the bot's own language menu), unless a choice in the menu is still unsent.
  function followLanguage(code) {
    if (state.pendingLang || code === ui.lang) return;
    setLanguage(code, false);
  }

  els.language.addEventListener('change', function () {
    setLanguage(els.language.value, true);
  });

  // ---- composer ----

  function autosize() {
    els.input.style.height = 'auto';
    els.input.style.height = Math.min(els.input.scrollHeight, 160) + 'px';
  }

  els.input.addEventListener('input', autosize);
  els.input.addEventListener('keydown', function (ev) {
    // Enter sends, Shift+Enter starts a new line; never while an input method is composing.
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      sendText();
    }
  });
  els.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    sendText();
  });

  // ---- start ----

  // The page's language is the bot's first hint (the server reads this cookie).
  rememberLanguage(ui.lang);
  loadHistory().then(function (p) {
    if (!p.entries.length && !p.last) startConversation();
  }, function () {
    state.failures++;
  }).then(connect);
})();
