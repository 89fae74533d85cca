// telemed's own small script (no inline scripts: the CSP forbids them).
// - A select with data-autosubmit submits its form on change (the language picker).
// - A button with data-confirm asks before submitting.
// - A button with data-copy copies the text of the element it names.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("select[data-autosubmit]") && t.form) { t.form.requestSubmit ? t.form.requestSubmit() : t.form.submit(); }
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-confirm],[data-copy]") : null;
    if (!b) { return; }
    if (b.hasAttribute("data-confirm") && !window.confirm(b.getAttribute("data-confirm"))) { e.preventDefault(); return; }
    if (b.hasAttribute("data-copy")) {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (el && navigator.clipboard) { navigator.clipboard.writeText(el.textContent.trim()); }
    }
  });
})();
// Tell the server the browser's time zone, so times show in local time.
(function () {
  "use strict";
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("telemed_tz=" + encodeURIComponent(tz)) < 0) {
      document.cookie = "telemed_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* older browsers: times stay in UTC */ }
})();
// The waiting room's device check (an element with data-device-check): camera and
// microphone through getUserMedia with a level meter, the speaker with a test tone the
// patient confirms hearing, the connection by round trips to /healthz. Nothing leaves
// the browser. Results are written into [data-dc-result] with data-state ok or fail.
(function () {
  "use strict";
  var root = document.querySelector("[data-device-check]");
  if (!root) { return; }
  var okText = root.getAttribute("data-ok") || "OK";
  var failText = root.getAttribute("data-fail") || "Not working";
  var stream = null;
  var audio = null;
  function show(name, ok, text) {
    var el = root.querySelector('[data-dc-result="' + name + '"]');
    if (!el) { return; }
    el.textContent = text || (ok ? okText : failText);
    el.className = ok ? "pill good" : "pill bad";
    el.setAttribute("data-state", ok ? "ok" : "fail");
  }
  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) { audio = new Ctx(); }
    return audio;
  }
  function listen(s) {
    var ctx = context();
    var meter = document.getElementById("dc-level");
    if (!ctx || !meter) { return; }
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(s).connect(analyser);
    var data = new Float32Array(analyser.fftSize);
    var heard = false;
    (function tick() {
      if (!stream) { return; }
      analyser.getFloatTimeDomainData(data);
      var sum = 0;
      for (var i = 0; i < data.length; i++) { sum += data[i] * data[i]; }
      var level = Math.min(1, Math.sqrt(sum / data.length) * 4);
      meter.value = level;
      if (!heard && level > 0.02) { heard = true; show("microphone", true); }
      window.requestAnimationFrame(tick);
    })();
  }
  function checkMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show("camera", false); show("microphone", false); return;
    }
    navigator.mediaDevices.getUserMedia({ video: true, audio: true }).then(function (s) {
      stream = s;
      var video = document.getElementById("dc-video");
      if (video) { video.srcObject = s; }
      show("camera", s.getVideoTracks().length > 0);
      if (s.getAudioTracks().length === 0) { show("microphone", false); } else { listen(s); }
    }).catch(function () { show("camera", false); show("microphone", false); });
  }
  function playTone() {
    var ctx = context();
    if (!ctx) { show("speaker", false); return; }
    if (ctx.resume) { ctx.resume(); }
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    gain.gain.value = 0.2;
    osc.frequency.value = 440;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 1);
  }
  function checkConnection() {
    var times = [];
    function once(n) {
      if (n === 0) {
        times.sort(function (a, b) { return a - b; });
        var median = Math.round(times[Math.floor(times.length / 2)]);
        show("connection", median < 1000, median + " ms");
        return;
      }
      var t0 = performance.now();
      fetch("/healthz", { cache: "no-store", credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        times.push(performance.now() - t0);
        once(n - 1);
      }).catch(function () { show("connection", false); });
    }
    once(5);
  }
  root.addEventListener("click", function (e) {
    var t = e.target;
    if (t.closest("[data-dc-media]")) { checkMedia(); }
    if (t.closest("[data-dc-sound]")) { playTone(); }
    if (t.closest("[data-dc-heard]")) { show("speaker", true); }
  });
  window.addEventListener("pagehide", function () {
    if (stream) { stream.getTracks().forEach(function (tr) { tr.stop(); }); stream = null; }
  });
  checkConnection();
})();
// The live connection (signed-in pages: body[data-live]): one WebSocket per tab that
// turns server events into DOM events on <body> ("telemed:notification",
// "telemed:message", ...) for htmx triggers and page scripts. It reconnects with backoff
// and fires "telemed:reconnected" so pages can fetch what they missed.
(function () {
  "use strict";
  if (!document.body || !document.body.hasAttribute("data-live") || !window.WebSocket) { return; }
  var delay = 1000;
  var opened = false;
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    var ws = new WebSocket(url);
    window.telemedLive = ws;
    ws.onmessage = function (e) {
      var event;
      try { event = JSON.parse(e.data); } catch (err) { return; }
      if (!event || typeof event.type !== "string") { return; }
      if (event.type === "ready") {
        delay = 1000;
        if (opened) { document.body.dispatchEvent(new CustomEvent("telemed:reconnected")); }
        opened = true;
        document.body.setAttribute("data-live-ready", "");
      }
      document.body.dispatchEvent(new CustomEvent("telemed:" + event.type, { detail: event }));
    };
    ws.onclose = function (e) {
      document.body.removeAttribute("data-live-ready");
      if (e.code === 4001) { return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
// Document upload on the chart (a form with data-upload): a file dropped on the
// [data-dropzone] goes into the file input; the form is sent with XMLHttpRequest so a
// progress bar can follow it, then the chart reloads with the new document. Without
// script the form posts as usual.
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload]");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-dropzone]");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  if (zone && input) {
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
  }
  form.addEventListener("submit", function (e) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    e.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (p) {
      if (p.lengthComputable) { bar.value = Math.round(100 * p.loaded / p.total); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 201) {
        bar.value = 100;
        status.textContent = form.getAttribute("data-done");
        window.location.assign(window.location.pathname + "?uploaded=true#documents");
      } else {
        var message = form.getAttribute("data-failed");
        try { message = JSON.parse(xhr.responseText).error.message || message; } catch (x) { /* an HTML error page */ }
        status.textContent = message;
        status.className = "notice bad";
        bar.hidden = true;
        button.disabled = false;
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = form.getAttribute("data-failed");
      status.className = "notice bad";
      button.disabled = false;
    });
    bar.hidden = false;
    bar.value = 0;
    status.className = "";
    status.textContent = form.getAttribute("data-uploading");
    button.disabled = true;
    xhr.send(new FormData(form));
  });
})();
