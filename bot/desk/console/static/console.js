// Sportello staff console: live updates and small conveniences. The pages work without it.
// Server-Sent Events only wake the page; it then reads the state again as JSON and redraws it
// with DOM methods and textContent — user text is never parsed as HTML.
(function () {
  "use strict";
  var prefix = document.body.getAttribute("data-prefix") || "/console";
  var live = document.getElementById("live");

  function announce(text) {
    if (!live || !text) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 60);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // Canned replies fill the reply box, to adapt before sending.
  var canned = document.getElementById("canned");
  var replyText = document.getElementById("reply-text");
  if (canned && replyText) {
    canned.addEventListener("change", function () {
      var opt = canned.options[canned.selectedIndex];
      var text = opt ? opt.getAttribute("data-text") : "";
      if (text) { replyText.value = text; replyText.focus(); }
    });
  }

  var queue = document.getElementById("queue");
  var messages = document.getElementById("messages");
  if (!queue && !messages) return;

  function renderQueue(data) {
    var before = {};
    Array.prototype.forEach.call(queue.querySelectorAll("li[data-id]"), function (li) { before[li.getAttribute("data-id")] = true; });
    var fresh = false;
    clear(queue);
    (data.tickets || []).forEach(function (t) {
      var li = el("li", "ticket p" + t.priority);
      li.setAttribute("data-id", t.id);
      var a = el("a", "ticket-link");
      a.href = t.url;
      a.appendChild(el("span", "prio", t.priority_label));
      a.appendChild(document.createTextNode(" "));
      a.appendChild(el("span", "tid", t.id));
      a.appendChild(document.createTextNode(" "));
      a.appendChild(el("span", "topic", t.topic));
      li.appendChild(a);
      li.appendChild(el("span", "meta", t.desk_name + " · " + t.lang_name + " · " + t.reason));
      var status = t.status_label + (t.assignee ? " · " + t.assignee : "") + (t.outcome ? " · " + t.outcome : "");
      li.appendChild(el("span", "status s-" + t.status, status));
      li.appendChild(el("span", "age", t.age));
      queue.appendChild(li);
      if (!before[t.id]) fresh = true;
    });
    if (!data.tickets || data.tickets.length === 0) queue.appendChild(el("li", "empty", queue.getAttribute("data-empty")));
    var stats = document.getElementById("stats");
    if (stats && data.stats) {
      clear(stats);
      data.stats.forEach(function (s) {
        var li = el("li");
        li.appendChild(el("strong", "", s.desk_name));
        [["data-waiting", s.waiting], ["data-claimed", s.claimed], ["data-urgent", s.urgent], ["data-median", s.median_wait]].forEach(function (p) {
          var span = el("span");
          span.appendChild(el("span", "label", stats.getAttribute(p[0])));
          span.appendChild(document.createTextNode(" "));
          span.appendChild(el("span", "n", p[1]));
          li.appendChild(document.createTextNode(" "));
          li.appendChild(span);
        });
        stats.appendChild(li);
      });
    }
    if (fresh) announce(queue.getAttribute("data-new"));
  }

  function messageItem(m) {
    var li = el("li", "m-" + m.kind);
    if (m.who) { li.appendChild(el("span", "who", m.who)); li.appendChild(document.createTextNode(" ")); }
    li.appendChild(el("time", "", m.at));
    var p = el("p", "", m.text);
    p.setAttribute("dir", "auto");
    li.appendChild(p);
    if (m.delivery_label) li.appendChild(el("span", "delivery d-" + m.delivery, m.delivery_label));
    return li;
  }

  function renderTicket(data) {
    var count = messages.children.length;
    clear(messages);
    (data.messages || []).forEach(function (m) { messages.appendChild(messageItem(m)); });
    var status = document.getElementById("status");
    if (status) {
      status.className = "status s-" + data.status;
      status.textContent = data.status_label + (data.assignee ? " · " + data.assignee : "") + (data.outcome ? " · " + data.outcome : "");
    }
    var last = data.messages && data.messages[data.messages.length - 1];
    if (data.messages && data.messages.length > count && last && last.kind === "user") {
      announce(messages.getAttribute("data-new") + ": " + last.text);
    }
    if (!data.open) {
      Array.prototype.forEach.call(document.querySelectorAll(".side form button, .reply button"), function (b) { b.disabled = true; });
    }
  }

  var busy = false, again = false;
  function load() {
    if (busy) { again = true; return; }
    busy = true;
    var url = queue ? prefix + "/api/queue?" + (queue.getAttribute("data-query") || "")
                    : prefix + "/api/tickets/" + encodeURIComponent(messages.getAttribute("data-ticket"));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = prefix + "/login"; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (d) { if (d) { if (queue) renderQueue(d); else renderTicket(d); } })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; load(); } });
  }

  var state = document.getElementById("live-state");
  function setState(on) {
    if (!state) return;
    state.textContent = state.getAttribute(on ? "data-state-on" : "data-state-off");
    state.className = "live-state" + (on ? " on" : "");
  }

  if (window.EventSource) {
    var es = new EventSource(prefix + "/events");
    var wasDown = false;
    es.addEventListener("open", function () { setState(true); if (wasDown) load(); wasDown = false; });
    es.addEventListener("error", function () { setState(false); wasDown = true; });
    es.addEventListener("change", function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (x) { return; }
      if (messages && e.ticket !== messages.getAttribute("data-ticket")) return;
      if (messages && !e.ticket) return;
      load();
    });
  }
  // A wake-up lost on the way (pub/sub is best effort) is caught by a slow poll.
  window.setInterval(load, 60000);
})();
