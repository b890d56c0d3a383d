// The web app's only script (no inline scripts: the Content-Security-Policy forbids them).
// Forms with data-confirm ask before submitting (revoking an API key).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// --- live updates: poll a cheap "changed since" check, fetch the page again only when it moved ----
(function () {
  var box = document.querySelector("[data-live]");
  if (!box || !window.fetch) { return; }
  var token = box.getAttribute("data-token");
  var onTicket = box.id === "ticket";
  var replying = false, beats = 0, delay = 5000, stopped = false;
  var reply = document.querySelector("#reply textarea[name=content]");

  function listBusy() {  // the agent is choosing tickets: do not move the rows under them
    return !!document.querySelector("#results input[type=checkbox]:checked") ||
      Array.prototype.some.call(document.querySelectorAll("#bulk select"), function (s) { return s.value; });
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var ids = onTicket ? ["messages", "facts", "customer-side"] : ["results"];
    ids.forEach(function (id) {
      var now = document.getElementById(id), next = fresh.getElementById(id);
      if (now && next) { now.replaceWith(next); }
    });
    var live = document.querySelector("[data-live]");
    if (live) { box = live; }
    document.dispatchEvent(new Event("telemetron:updated"));
  }

  function refresh() {
    if (!onTicket && listBusy()) {
      var notice = document.querySelector(".live-notice");
      if (notice) { notice.hidden = false; }
      return Promise.resolve();
    }
    return fetch(window.location.href, {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.text().then(swap) : null;
    });
  }

  function showPresence(others) {
    var p = document.getElementById("presence");
    if (!p) { return; }
    p.textContent = others.map(function (o) { return o.name + (o.replying ? " is replying." : " is viewing."); }).join(" ");
  }

  function poll(forceBeat) {
    if (stopped || document.hidden && !forceBeat) { return schedule(); }
    var url = box.getAttribute("data-live");
    if (onTicket) {
      beats += 1;
      var beat = forceBeat || beats % 3 === 0;  // presence every ~15 s, or at once when it changes
      url += "?heartbeat=" + (beat ? "1" : "0") + "&replying=" + (replying ? "1" : "0");
    }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) {
      if (!r.ok || (r.headers.get("content-type") || "").indexOf("json") < 0) { stopped = true; return null; }
      return r.json();
    }).then(function (data) {
      if (!data) { return null; }
      delay = (data.pollSeconds || 5) * 1000;
      if (onTicket) { showPresence(data.others || []); }
      if (data.token && data.token !== token) {
        token = data.token;
        return refresh();
      }
      return null;
    }).catch(function () { /* offline for a moment: try again later */ }).then(schedule);
  }

  var timer = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(poll, delay); }
  if (reply) {
    reply.addEventListener("input", function () {
      var now = reply.value.trim() !== "";
      if (now !== replying) { replying = now; clearTimeout(timer); poll(true); }
    });
  }
  schedule();
})();

// --- bulk selection: one box for the whole page, and how many are ticked --------------------------
(function () {
  function wire() {
    var all = document.getElementById("pick-all");
    var count = document.getElementById("picked-count");
    if (!all) { return; }
    all.hidden = false;
    var boxes = function () { return document.querySelectorAll("input[name=ticket][form=bulk]"); };
    function update() {
      var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
      if (count) { count.textContent = n ? "(" + n + " ticked)" : ""; }
      all.checked = n > 0 && n === boxes().length;
    }
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes(), function (b) { b.checked = all.checked; });
      update();
    });
    Array.prototype.forEach.call(boxes(), function (b) { b.addEventListener("change", update); });
    update();
  }
  wire();
  document.addEventListener("telemetron:updated", wire);
})();

// --- keyboard shortcuts and their help ("?") -----------------------------------------------------
(function () {
  var dialog = document.getElementById("shortcuts");
  var opener = document.querySelector("[data-open=shortcuts]");
  if (!dialog) { return; }
  if (opener && dialog.showModal) {
    opener.hidden = false;
    opener.addEventListener("click", function () { dialog.showModal(); });
  }
  var LIST_KEY = "telemetron.list";
  var rows = document.querySelectorAll("#ticket-list tbody tr[data-ticket]");
  if (rows.length) {  // remember the list's order, for next / previous on a ticket page
    var ids = Array.prototype.map.call(rows, function (r) { return r.getAttribute("data-ticket"); });
    try { sessionStorage.setItem(LIST_KEY, JSON.stringify(ids)); } catch (e) { /* storage off */ }
  }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function stepInList(step) {
    var links = Array.prototype.map.call(document.querySelectorAll("#ticket-list tbody tr[data-ticket]"),
      function (r) { return r.querySelector("a[href^='/tickets/']"); });
    if (!links.length) { return; }
    var at = links.indexOf(document.activeElement);
    var next = links[Math.max(0, Math.min(links.length - 1, at < 0 ? 0 : at + step))];
    next.focus();
  }
  function stepFromTicket(step) {
    var box = document.getElementById("ticket");
    var here = box && box.getAttribute("data-live").split("/").pop();
    var ids = [];
    try { ids = JSON.parse(sessionStorage.getItem(LIST_KEY) || "[]"); } catch (e) { ids = []; }
    var at = ids.indexOf(here);
    if (at >= 0 && ids[at + step]) { window.location.href = "/tickets/" + ids[at + step]; }
  }
  function focus(selector) {
    var el = document.querySelector(selector);
    if (el) { el.focus(); el.scrollIntoView({block: "center"}); return true; }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var onTicket = !!document.getElementById("ticket");
    var key = event.key;
    if (key === "?") { if (dialog.showModal && !dialog.open) { dialog.showModal(); } }
    else if (key === "j" || key === "k") { (onTicket ? stepFromTicket : stepInList)(key === "j" ? 1 : -1); }
    else if (key === "r" && onTicket) { focus("#reply textarea[name=content]"); }
    else if (key === "n" && onTicket) { focus("#note textarea, textarea[name=note]") || focus("#reply textarea[name=content]"); }
    else if (key === "a" && onTicket) { var b = document.getElementById("assign-me"); if (b) { b.click(); } else { return; } }
    else if (key === "/") { if (!focus("input[name=q]")) { return; } }
    else { return; }
    event.preventDefault();
  });
})();
