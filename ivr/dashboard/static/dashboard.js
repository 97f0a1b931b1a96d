// Quietline staff dashboard: the only script. No framework, nothing fetched from elsewhere.
//
// Signed-in pages poll the server every POLL_MS (short polling: one small JSON request, no connection
// held open, which suits gunicorn's sync workers; bench/live_queue.py measures the delay it gives).
// The poll never counts as activity; the server says how long until the idle sign-out, by its own
// clock, so this script keeps no timer of its own for that.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var WARN_SECONDS = 120; // the idle warning shows this long before the sign-out
  var ACTIVITY_PING_MS = 30000; // typing elsewhere than an outcome tells the server at most this often
  var DRAFT_DELAY_MS = 700; // an outcome is saved this long after the last keystroke

  var body = document.body;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var liveUrl = body.getAttribute("data-live");

  // Bumped by every request that counts as activity: a poll answered from before one says too little time is left.
  var activity = 0;
  function post(url, fields) {
    activity += 1;
    var data = new FormData();
    data.append("csrf_token", csrf);
    Object.keys(fields || {}).forEach(function (name) { data.append(name, fields[name]); });
    return fetch(url, { method: "POST", body: data, credentials: "same-origin", keepalive: true,
                        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } });
  }

  // After an action, focus goes to what happened (the confirmation) or to the next step (the player,
  // the details just opened), so a screen reader reads it and the keyboard carries on from there.
  var landing = document.getElementById("confirmation") || document.getElementById("next-step");
  if (landing) { landing.focus(); }

  // ------------------------------------------------------------------ announcements, title, sound
  var announcer = document.getElementById("announcer");
  function announce(text) {
    if (!announcer || !text) { return; }
    var line = document.createElement("p");
    line.textContent = text;
    announcer.appendChild(line);
    while (announcer.childNodes.length > 6) { announcer.removeChild(announcer.firstChild); }
  }

  var baseTitle = body.getAttribute("data-title") || document.title;
  function setTitle(pressing) {
    document.title = (pressing > 0 ? "(" + pressing + ") " : "") + baseTitle;
  }

  var audio = null;
  // Browsers let a page make sound only after the person has interacted with it: get ready on the first key
  // or tap, so the first urgent escalation is heard.
  function unlockSound() {
    if (body.getAttribute("data-sound") !== "on" || audio) { return; }
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (err) { audio = null; }
  }
  document.addEventListener("keydown", unlockSound, { once: true });
  document.addEventListener("pointerdown", unlockSound, { once: true });
  function chime() {
    if (body.getAttribute("data-sound") !== "on") { return; }
    body.setAttribute("data-chimes", String(parseInt(body.getAttribute("data-chimes") || "0", 10) + 1));
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") { audio.resume(); }
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.15;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (err) { /* no audio output: the announcement and the title still say it */ }
  }

  // ------------------------------------------------------------------ the queue, live
  var list = document.getElementById("queue");
  var known = {}; // id -> state ("open:", "claimed:3") as last seen
  if (list) {
    Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (li) {
      known[li.getAttribute("data-id")] = li.getAttribute("data-state");
    });
  }

  function shownIds() {
    return Array.prototype.map.call(list.querySelectorAll("li[data-id]"), function (li) {
      return li.getAttribute("data-id");
    });
  }

  function applyQueue(data) {
    var active = document.activeElement;
    var focusedLi = active && active.closest ? active.closest("li[data-id]") : null;
    var focusedId = focusedLi ? focusedLi.getAttribute("data-id") : null;
    var focusKey = active && active.getAttribute ? active.getAttribute("data-focus") : null;
    var existing = {};
    Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (li) {
      existing[li.getAttribute("data-id")] = li;
    });
    var previous = null;
    var urgentArrived = false;
    data.items.forEach(function (item) {
      var id = String(item.id);
      var holder = document.createElement("template");
      holder.innerHTML = item.html.trim();
      var fresh = holder.content.firstElementChild;
      var node = existing[id];
      if (!node) {
        if (!(id in known)) {
          announce(item["new"]);
          if (item.priority === 0) { urgentArrived = true; }
        } else if (known[id] !== item.state) {
          announce(item.change);
        }
        node = fresh;
      } else {
        if (known[id] !== item.state) { announce(item.change); }
        if (node.getAttribute("data-sig") !== fresh.getAttribute("data-sig")) {
          node.replaceWith(fresh);
          node = fresh;
          if (focusedId === id) {
            var again = (focusKey && node.querySelector('[data-focus="' + focusKey + '"]')) ||
                        node.querySelector("a.item-link");
            if (again) { again.focus(); }
          }
        }
      }
      var wanted = previous ? previous.nextElementSibling : list.firstElementChild;
      if (wanted !== node) { list.insertBefore(node, wanted); }
      previous = node;
      known[id] = item.state;
      delete existing[id];
    });
    Object.keys(existing).forEach(function (id) {
      if (existing[id].contains(document.activeElement)) { list.focus(); }
      existing[id].remove();
    });
    (data.gone || []).forEach(function (g) { announce(g.text); });
    var empty = document.getElementById("queue-empty");
    if (empty) { empty.hidden = data.items.length > 0; }
    if (data.counts) {
      var figures = { active: data.counts.open + data.counts.claimed, open: data.counts.open, mine: data.counts.mine };
      Object.keys(figures).forEach(function (view) {
        var badge = document.getElementById("count-" + view);
        if (badge) { badge.textContent = String(figures[view]); }
      });
    }
    if (urgentArrived) { chime(); }
  }

  // ------------------------------------------------------------------ one escalation, live
  var liveStatus = document.getElementById("live-status");
  function applyDetail(data) {
    if (data.state !== liveStatus.getAttribute("data-state")) {
      var hadFocus = liveStatus.contains(document.activeElement);
      liveStatus.innerHTML = data.status_html;
      liveStatus.setAttribute("data-state", data.state);
      announce(data.change);
      if (hadFocus) {
        var status = document.getElementById("status-text");
        status.setAttribute("tabindex", "-1");
        status.focus();
      }
    } else {
      var left = document.getElementById("time-left");
      if (left && data.time_left && left.textContent !== data.time_left) {
        left.textContent = data.time_left;
        left.className = "due " + data.urgency;
      }
    }
  }

  // ------------------------------------------------------------------ draft outcome, kept on the server
  var flushDraft = function () { return Promise.resolve(); };
  var resolveForm = document.getElementById("resolve-form");
  if (resolveForm) {
    var box = resolveForm.querySelector("textarea[name=outcome]");
    var presetField = document.getElementById("outcome-preset");
    var draftStatus = document.getElementById("draft-status");
    var pending = null;
    var saving = Promise.resolve();
    var saveDraft = function () {
      window.clearTimeout(pending);
      pending = null;
      saving = post(resolveForm.getAttribute("data-draft"), { outcome: box.value, preset: presetField.value })
        .then(function (r) {
          if (r.ok) { return r.json(); }
          // A failure is said aloud too (the status line itself stays quiet for every routine "Draft saved").
          return r.json().then(function (d) {
            var text = d.ended ? "Not saved: you have been signed out. Sign in again to keep working." : d.error;
            announce(text);
            return { saved: text };
          });
        })
        .then(function (d) { if (d && draftStatus) { draftStatus.textContent = d.saved || ""; } })
        .catch(function () {
          var text = "Not saved yet: the connection is down.";
          announce(text);
          if (draftStatus) { draftStatus.textContent = text; }
        });
      return saving;
    };
    flushDraft = function () { return pending !== null ? saveDraft() : saving; };
    var setPreset = function (key) {
      presetField.value = key;
      Array.prototype.forEach.call(resolveForm.querySelectorAll("button[data-preset]"), function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-preset") === key ? "true" : "false");
      });
    };
    box.addEventListener("input", function () {
      if (!box.value.trim()) { setPreset(""); }
      window.clearTimeout(pending);
      pending = window.setTimeout(saveDraft, DRAFT_DELAY_MS);
    });
    Array.prototype.forEach.call(resolveForm.querySelectorAll("button[data-preset]"), function (b) {
      b.addEventListener("click", function () {
        box.value = b.getAttribute("data-text");
        setPreset(b.getAttribute("data-preset"));
        saveDraft();
        box.focus(); // the next step: edit it, or Tab on to Resolve
        box.setSelectionRange(box.value.length, box.value.length);
      });
    });
    resolveForm.addEventListener("submit", function () { window.clearTimeout(pending); pending = null; });
    window.addEventListener("pagehide", function () { if (pending !== null) { saveDraft(); } });
  }

  // ------------------------------------------------------------------ idle: warn, and "Stay signed in"
  var dialog = document.getElementById("idle-dialog");
  var before = null;
  function leftText(seconds) {
    if (seconds >= 90) { return "2 minutes"; }
    if (seconds >= 45) { return "1 minute"; }
    return "less than a minute";
  }
  function stay() {
    return post(body.getAttribute("data-keepalive"))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { applyIdle(d.idle_left); } });
  }
  function applyIdle(left) {
    if (!dialog) { return; }
    if (left <= WARN_SECONDS) {
      document.getElementById("idle-left").textContent = leftText(left);
      if (!dialog.open) {
        before = document.activeElement;
        flushDraft();
        dialog.showModal();
        document.getElementById("stay-signed-in").focus();
      }
    } else if (dialog.open) {
      dialog.close();
    }
  }
  if (dialog) {
    document.getElementById("stay-signed-in").addEventListener("click", stay);
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); stay(); }); // Escape stays too
    dialog.addEventListener("close", function () {
      if (before && before.focus && document.contains(before)) { before.focus(); }
    });
  }
  // Typing counts as activity: an outcome by saving its draft, anything else by a ping now and then.
  var lastPing = -Infinity;
  document.addEventListener("input", function (event) {
    if (!liveUrl || (event.target && event.target.name === "outcome")) { return; }
    var moment = window.performance.now();
    if (moment - lastPing >= ACTIVITY_PING_MS) {
      lastPing = moment;
      post(body.getAttribute("data-keepalive"));
    }
  });

  function signedOut(reason) {
    var back = body.getAttribute("data-return") || "/staff/";
    window.location.assign(body.getAttribute("data-login") + "?ended=" + encodeURIComponent(reason || "expired") +
                           "&next=" + encodeURIComponent(back));
  }

  // A backstop for a page that cannot reach the server (offline): once the idle time it last heard of has
  // passed, reload, so whatever it shows (client details included) leaves the screen.
  var backstop = null;
  function armBackstop(left) {
    window.clearTimeout(backstop);
    backstop = window.setTimeout(function () {
      window.location.replace(window.location.pathname + window.location.search);
    }, (left + 30) * 1000);
  }
  if (liveUrl) { armBackstop(parseInt(body.getAttribute("data-idle-seconds") || "900", 10)); }

  // ------------------------------------------------------------------ the poll
  // A poll that fails twice in a row says so on the page: a queue that silently stops updating could hide a
  // new crisis (review 16, finding 3). The notice goes as soon as the server answers again.
  var failedPolls = 0;
  var FAILED_POLLS_SHOWN = 2;
  function pollFailed() {
    failedPolls += 1;
    if (failedPolls < FAILED_POLLS_SHOWN || document.getElementById("live-paused")) { return; }
    var notice = document.createElement("p");
    notice.id = "live-paused";
    notice.className = "alert error";
    notice.setAttribute("role", "alert");
    notice.textContent = "Live updates have stopped: the server is not answering. What you see may be out of date. " +
      "This page updates again by itself when the server answers.";
    var main = document.getElementById("main");
    if (main) { main.insertBefore(notice, main.firstChild); }
  }
  function pollAnswered() {
    failedPolls = 0;
    var notice = document.getElementById("live-paused");
    if (notice) { notice.parentNode.removeChild(notice); }
  }

  function poll() {
    var sentAt = activity;
    var url = liveUrl;
    if (list) { url += (url.indexOf("?") < 0 ? "?" : "&") + "shown=" + shownIds().join(","); }
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) {
          return flushDraft().then(function () { return r.json(); }).then(function (d) { signedOut(d.ended); return null; });
        }
        if (!r.ok) { pollFailed(); return null; }
        return r.json();
      })
      .then(function (data) {
        if (!data) { return; }
        pollAnswered();
        setTitle(data.pressing);
        if (list && data.items) { applyQueue(data); }
        if (liveStatus && data.state) { applyDetail(data); }
        if (sentAt === activity) {
          applyIdle(data.idle_left);
          armBackstop(data.idle_left);
        }
        body.setAttribute("data-polls", String(parseInt(body.getAttribute("data-polls") || "0", 10) + 1));
      })
      .catch(function () { pollFailed(); /* offline: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }
  if (liveUrl) { poll(); }

  // ------------------------------------------------------------------ keyboard shortcuts (can be turned off)
  if (body.getAttribute("data-shortcuts") === "on") {
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
      var target = event.target;
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable], dialog")) { return; }
      var key = event.key;
      if (list && (key === "j" || key === "k")) {
        var links = Array.prototype.slice.call(list.querySelectorAll("a.item-link"));
        if (!links.length) { return; }
        var current = document.activeElement && document.activeElement.closest ?
          document.activeElement.closest("li[data-id]") : null;
        var at = current ? links.indexOf(current.querySelector("a.item-link")) : -1;
        var next = at < 0 ? 0 : Math.max(0, Math.min(links.length - 1, at + (key === "j" ? 1 : -1)));
        links[next].focus();
        event.preventDefault();
      } else if (!list && (key === "j" || key === "k")) {
        var to = body.getAttribute(key === "j" ? "data-next" : "data-previous");
        if (to) { event.preventDefault(); window.location.assign(to); }
      } else if (key === "c") {
        var holder = document.activeElement && document.activeElement.closest ?
          document.activeElement.closest("li[data-id]") : null;
        var claim = list ? (holder && holder.querySelector('[data-focus="claim"]')) : document.getElementById("claim-button");
        if (claim) { event.preventDefault(); claim.click(); }
      } else if (key === "r") {
        var outcome = document.querySelector("#resolve-form textarea");
        if (outcome) { event.preventDefault(); outcome.focus(); }
      }
    });
  }

  // ------------------------------------------------------------------ forms
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // Signing out with an outcome still being typed: keep it first.
    if (form.id === "logout-form" && resolveForm) {
      event.preventDefault();
      flushDraft().then(function () { form.submit(); });
      return;
    }
    // One click, one request: a double tap must not claim or resolve twice.
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    }, 0);
  });

  // Back from another page via the browser cache: the page may be stale, so fetch it again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
})();
