// The video visit (#room): camera and microphone, the call with everyone admitted
// (a full mesh of RTCPeerConnections), the waiting room, in-call chat, the quality
// indicator and the call timer. Signaling rides the tab's live connection
// (window.telemedLive, opened by telemed.js): frames go out as JSON, and server events
// come back as "telemed:<type>" DOM events on <body>.
//
// Who offers: a tab that enters the call sends an offer to everyone already in it;
// those only answer. So two tabs never offer to each other at once. When a connection
// fails (a network change), the side that offered restarts ICE; when the live
// connection drops, the tab joins again and, admitted before, comes straight back in.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) { return; }
  var body = document.body;
  var visit = root.getAttribute("data-visit");
  var role = root.getAttribute("data-role");
  var roster = {};
  try { roster = JSON.parse(root.getAttribute("data-roster") || "{}"); } catch (e) { roster = {}; }
  function t(key) { return root.getAttribute("data-t-" + key) || key; }
  function $(id) { return document.getElementById(id); }

  var me = { peer: null, admitted: false, ice: null, ended: false, callStart: null };
  var known = {};   // peer id -> { participant, admitted }
  var links = {};   // peer id -> { pc, offerer, tile, video, pending: [], last: {} }
  var local = null; // the camera and microphone stream
  var screen = null;
  var micOn = true;
  var camOn = true;
  var audioOnly = root.getAttribute("data-audio-only") === "true";
  var chatSeq = 0;
  var quality = { samples: 0, rtt: 0, loss: 0, kbps: 0, relayed: false };

  function send(frame) {
    var ws = window.telemedLive;
    if (!ws || ws.readyState !== 1) { return false; }
    frame.visit = visit;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function status(state, text) {
    var el = $("room-status");
    el.setAttribute("data-state", state);
    el.textContent = text;
    el.className = "notice" + (state === "in-call" ? " good" : state === "error" ? " bad" : "");
  }

  function nameOf(participant) {
    if (!participant) { return ""; }
    return roster[participant.id] || t(participant.kind);
  }

  // ---- media -------------------------------------------------------------------
  function constraints(cameraId, micId) {
    return {
      audio: micId ? { deviceId: { exact: micId } } : true,
      video: audioOnly ? false : (cameraId ? { deviceId: { exact: cameraId }, width: 640, height: 480 } : { width: 640, height: 480 })
    };
  }

  function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) { return; }
    navigator.mediaDevices.enumerateDevices().then(function (devices) {
      [["videoinput", "camera-select"], ["audioinput", "mic-select"]].forEach(function (pair) {
        var select = $(pair[1]);
        var current = select.value;
        select.textContent = "";
        devices.filter(function (d) { return d.kind === pair[0]; }).forEach(function (d, i) {
          var o = document.createElement("option");
          o.value = d.deviceId;
          o.textContent = d.label || (pair[0] === "videoinput" ? "Camera " : "Microphone ") + (i + 1);
          select.appendChild(o);
        });
        if (current) { select.value = current; }
      });
    });
  }

  function openMedia(cameraId, micId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return Promise.resolve(null); }
    return navigator.mediaDevices.getUserMedia(constraints(cameraId, micId)).catch(function () {
      // No camera: try the microphone alone; nothing at all still lets the tab watch.
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false }).catch(function () { return null; });
    });
  }

  function showLocal() {
    var v = $("local-video");
    v.srcObject = local;
    root.classList.toggle("audio-only", audioOnly);
  }

  // Puts the current tracks on a connection's senders, without renegotiating.
  function sendOwnTracks(pc) {
    var audio = local ? local.getAudioTracks()[0] || null : null;
    var video = screen ? screen.getVideoTracks()[0] : (local && !audioOnly ? local.getVideoTracks()[0] || null : null);
    pc.getTransceivers().forEach(function (tr) {
      var kind = tr.receiver.track && tr.receiver.track.kind;
      if (tr.direction === "recvonly") { tr.direction = "sendrecv"; }
      if (kind === "audio") { tr.sender.replaceTrack(audio); }
      if (kind === "video") { tr.sender.replaceTrack(video); }
    });
  }

  function replaceTracks() {
    Object.keys(links).forEach(function (id) { sendOwnTracks(links[id].pc); });
  }

  function announceMedia() {
    send({ type: "media", audio: micOn, video: camOn && !audioOnly });
  }

  function switchDevices() {
    var old = local;
    openMedia($("camera-select").value, $("mic-select").value).then(function (s) {
      if (!s) { return; }
      local = s;
      if (old) { old.getTracks().forEach(function (tr) { tr.stop(); }); }
      local.getAudioTracks().forEach(function (tr) { tr.enabled = micOn; });
      local.getVideoTracks().forEach(function (tr) { tr.enabled = camOn; });
      showLocal();
      replaceTracks();
    });
  }

  // ---- the call -----------------------------------------------------------------
  function tileFor(id) {
    var figure = document.createElement("figure");
    figure.className = "tile";
    figure.setAttribute("data-peer", id);
    var video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    var caption = document.createElement("figcaption");
    caption.textContent = nameOf(known[id] && known[id].participant);
    figure.appendChild(video);
    figure.appendChild(caption);
    $("videos").appendChild(figure);
    return { tile: figure, video: video };
  }

  function connect(id, offerer) {
    if (links[id]) { return links[id]; }
    var pc = new RTCPeerConnection({
      iceServers: (me.ice && me.ice.iceServers) || [],
      iceTransportPolicy: (me.ice && me.ice.iceTransportPolicy) || "all"
    });
    var view = tileFor(id);
    var link = { pc: pc, offerer: offerer, tile: view.tile, video: view.video, pending: [], remote: new MediaStream() };
    links[id] = link;
    view.video.srcObject = link.remote;
    // The offerer makes one audio and one video transceiver; the answerer uses the
    // ones the offer brings. Tracks then change without a new negotiation (screen
    // share, audio-only, another camera).
    if (offerer) {
      pc.addTransceiver("audio", { direction: "sendrecv" });
      pc.addTransceiver("video", { direction: "sendrecv" });
      sendOwnTracks(pc);
    }
    pc.ontrack = function (e) {
      link.remote.getTracks().filter(function (tr) { return tr.kind === e.track.kind; })
        .forEach(function (tr) { link.remote.removeTrack(tr); });
      link.remote.addTrack(e.track);
    };
    pc.onicecandidate = function (e) {
      if (e.candidate) { send({ type: "signal", to: id, data: { candidate: e.candidate.toJSON() } }); }
    };
    // A network change: the offerer restarts ICE when the connection fails, or when
    // it stays "disconnected" for two seconds (the browser may take far longer to
    // call it failed). The call, the encounter and the admission carry on.
    pc.onconnectionstatechange = function () {
      link.tile.setAttribute("data-state", pc.connectionState);
      clearTimeout(link.stall);
      if (!link.offerer) { return; }
      if (pc.connectionState === "failed") { offer(id, true); }
      if (pc.connectionState === "disconnected") {
        link.stall = setTimeout(function () {
          if (links[id] === link && pc.connectionState === "disconnected") { offer(id, true); }
        }, 2000);
      }
    };
    if (offerer) { offer(id, false); }
    return link;
  }

  function offer(id, restart) {
    var link = links[id];
    if (!link) { return; }
    var pc = link.pc;
    pc.createOffer(restart ? { iceRestart: true } : {}).then(function (o) {
      return pc.setLocalDescription(o);
    }).then(function () {
      send({ type: "signal", to: id, data: { sdp: pc.localDescription.toJSON() } });
    }).catch(function () { /* the next state change tries again */ });
  }

  function onSignal(from, data) {
    if (!me.admitted || me.ended) { return; }
    var link = links[from] || connect(from, false);
    var pc = link.pc;
    if (data.sdp) {
      pc.setRemoteDescription(data.sdp).then(function () {
        link.pending.splice(0).forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
        if (data.sdp.type !== "offer") { return null; }
        sendOwnTracks(pc);
        return pc.createAnswer().then(function (a) { return pc.setLocalDescription(a); }).then(function () {
          send({ type: "signal", to: from, data: { sdp: pc.localDescription.toJSON() } });
        });
      }).catch(function () {});
    } else if (data.candidate) {
      if (pc.remoteDescription) { pc.addIceCandidate(data.candidate).catch(function () {}); }
      else { link.pending.push(data.candidate); }
    }
  }

  function drop(id) {
    var link = links[id];
    if (link) {
      link.pc.close();
      link.tile.remove();
      delete links[id];
    }
  }

  function enterCall() {
    me.admitted = true;
    if (!me.callStart) { me.callStart = Date.now(); }
    status("in-call", t("in-call"));
    // Newcomer offers to everyone already in the call.
    Object.keys(known).forEach(function (id) {
      if (known[id].admitted && id !== me.peer) { connect(id, true); }
    });
    announceMedia();
    renderWaiting();
  }

  function endLocally(text) {
    me.ended = true;
    Object.keys(links).forEach(drop);
    [local, screen].forEach(function (s) { if (s) { s.getTracks().forEach(function (tr) { tr.stop(); }); } });
    status("ended", text);
    root.classList.add("ended");
    if (role !== "guest") {
      var a = document.createElement("a");
      a.href = "/visits/" + visit + "/record";
      a.id = "record-link";
      a.textContent = " " + t("record");
      $("room-status").appendChild(a);
    }
  }

  // ---- waiting list (clinician) ---------------------------------------------------
  function renderWaiting() {
    var list = $("waiting-list");
    if (!list) { return; }
    list.textContent = "";
    var waiting = Object.keys(known).filter(function (id) { return !known[id].admitted; });
    if (waiting.length === 0) {
      var li = document.createElement("li");
      li.className = "hint";
      li.textContent = t("nobody");
      list.appendChild(li);
      return;
    }
    waiting.forEach(function (id) {
      var li = document.createElement("li");
      li.setAttribute("data-peer", id);
      li.textContent = nameOf(known[id].participant) + " ";
      var b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = t("admit");
      b.setAttribute("data-admit", id);
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // ---- server events ----------------------------------------------------------------
  function mine(e) { return e.detail && e.detail.visit === visit; }

  body.addEventListener("telemed:joined", function (e) {
    if (!mine(e)) { return; }
    var d = e.detail;
    me.peer = d.peer;
    me.ice = d.ice;
    Object.keys(known).forEach(function (id) { delete known[id]; });
    (d.peers || []).forEach(function (p) { known[p.peer] = { participant: p.participant, admitted: p.admitted }; });
    if (d.admitted) { enterCall(); } else { status("waiting", t("waiting")); }
    renderWaiting();
  });
  body.addEventListener("telemed:room_peer", function (e) {
    if (!mine(e) || e.detail.peer === me.peer) { return; }
    known[e.detail.peer] = { participant: e.detail.participant, admitted: e.detail.admitted };
    renderWaiting();
  });
  body.addEventListener("telemed:room_admitted", function (e) {
    if (!mine(e)) { return; }
    if (e.detail.peer === me.peer) {
      if (!me.admitted) { enterCall(); }
      return;
    }
    if (known[e.detail.peer]) { known[e.detail.peer].admitted = true; }
    renderWaiting();
  });
  body.addEventListener("telemed:room_left", function (e) {
    if (!mine(e)) { return; }
    delete known[e.detail.peer];
    drop(e.detail.peer);
    renderWaiting();
  });
  body.addEventListener("telemed:room_media", function (e) {
    if (!mine(e) || !links[e.detail.peer]) { return; }
    var tile = links[e.detail.peer].tile;
    tile.setAttribute("data-audio", e.detail.audio ? "on" : "off");
    tile.setAttribute("data-video", e.detail.video ? "on" : "off");
  });
  body.addEventListener("telemed:signal", function (e) {
    if (!mine(e) || e.detail.to !== me.peer) { return; }
    onSignal(e.detail.from, e.detail.data);
  });
  body.addEventListener("telemed:room_chat", function (e) { if (mine(e)) { loadChat(); } });
  body.addEventListener("telemed:room_ended", function (e) { if (mine(e)) { endLocally(t("ended")); } });
  body.addEventListener("telemed:error", function (e) {
    if (e.detail && (e.detail["for"] === "join" || e.detail["for"] === "end" || e.detail["for"] === "admit")) {
      status("error", e.detail.message);
    }
  });
  body.addEventListener("telemed:ok", function (e) {
    if (e.detail && e.detail["for"] === "end") { endLocally(t("ended")); }
    if (e.detail && e.detail["for"] === "chat") { $("chat-input").value = ""; loadChat(); }
  });
  // Each (re)opened live connection joins once the camera is ready. A rejoin is a
  // new peer; the old one was closed by the server when the connection dropped.
  var mediaReady = false;
  var joinedOn = null;
  function maybeJoin() {
    var ws = window.telemedLive;
    if (!mediaReady || me.ended || !ws || ws.readyState !== 1 || joinedOn === ws) { return; }
    joinedOn = ws;
    if (me.peer) {
      Object.keys(links).forEach(drop);
      me.admitted = false;
      status("connecting", t("reconnecting"));
    }
    send({ type: "join" });
  }
  body.addEventListener("telemed:ready", maybeJoin);

  // ---- chat ---------------------------------------------------------------------------
  function loadChat() {
    fetch("/visits/" + visit + "/chat?after=" + chatSeq, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (lines) {
        var list = $("chat-lines");
        lines.forEach(function (l) {
          if (l.seq <= chatSeq) { return; }
          chatSeq = l.seq;
          var li = document.createElement("li");
          li.setAttribute("data-seq", l.seq);
          var who = document.createElement("strong");
          who.textContent = l.from + ": ";
          var text = document.createElement("span");
          text.textContent = l.body;
          li.appendChild(who);
          li.appendChild(text);
          list.appendChild(li);
        });
      }).catch(function () {});
  }

  $("chat-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("chat-input").value.trim();
    if (text) { send({ type: "chat", body: text }); }
  });

  // ---- controls -------------------------------------------------------------------------
  root.addEventListener("click", function (e) {
    var admit = e.target.closest("[data-admit]");
    if (admit) { send({ type: "admit", peer: admit.getAttribute("data-admit") }); }
  });
  $("toggle-mic").addEventListener("click", function () {
    micOn = !micOn;
    if (local) { local.getAudioTracks().forEach(function (tr) { tr.enabled = micOn; }); }
    this.textContent = micOn ? t("mute") : t("unmute");
    this.setAttribute("aria-pressed", String(!micOn));
    announceMedia();
  });
  $("toggle-camera").addEventListener("click", function () {
    camOn = !camOn;
    if (local) { local.getVideoTracks().forEach(function (tr) { tr.enabled = camOn; }); }
    this.textContent = camOn ? t("camera-off") : t("camera-on");
    this.setAttribute("aria-pressed", String(!camOn));
    announceMedia();
  });
  $("toggle-share").addEventListener("click", function () {
    var button = this;
    if (screen) {
      screen.getTracks().forEach(function (tr) { tr.stop(); });
      screen = null;
      button.textContent = t("share");
      replaceTracks();
      return;
    }
    if (!navigator.mediaDevices.getDisplayMedia) { return; }
    navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (s) {
      screen = s;
      button.textContent = t("stop-share");
      s.getVideoTracks()[0].addEventListener("ended", function () { if (screen === s) { button.click(); } });
      replaceTracks();
    }).catch(function () {});
  });
  $("toggle-audio-only").addEventListener("click", function () {
    audioOnly = !audioOnly;
    this.textContent = audioOnly ? t("video-back") : t("audio-only");
    if (audioOnly && local) {
      local.getVideoTracks().forEach(function (tr) { tr.stop(); local.removeTrack(tr); });
      showLocal();
      replaceTracks();
      announceMedia();
    } else {
      switchDevices();
      announceMedia();
    }
  });
  $("camera-select").addEventListener("change", switchDevices);
  $("mic-select").addEventListener("change", switchDevices);
  var end = $("end-call");
  if (end) { end.addEventListener("click", function () { send({ type: "end" }); }); }
  var leave = $("leave-call");
  if (leave) {
    leave.addEventListener("click", function () {
      send({ type: "leave" });
      endLocally(t("ended"));
    });
  }
  window.addEventListener("pagehide", function () { if (!me.ended) { send({ type: "leave" }); } });

  // Guest links (clinician): made without leaving the call.
  var inviteForm = $("invite-form");
  if (inviteForm) {
    inviteForm.addEventListener("submit", function (e) {
      e.preventDefault();
      fetch(inviteForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(inviteForm)).toString()
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (made) {
        if (!made) { return; }
        roster[made.guest] = made.label;
        $("invite-url").textContent = made.url;
        $("invite-link").hidden = false;
        var li = document.createElement("li");
        li.setAttribute("data-guest", made.guest);
        li.textContent = made.label;
        $("invites").appendChild(li);
        inviteForm.reset();
      });
    });
  }

  // ---- timer and quality ----------------------------------------------------------------
  setInterval(function () {
    if (!me.callStart || me.ended) { return; }
    var s = Math.floor((Date.now() - me.callStart) / 1000);
    var mm = String(Math.floor(s / 60)).padStart(2, "0");
    var ss = String(s % 60).padStart(2, "0");
    $("call-timer").textContent = mm + ":" + ss;
  }, 1000);

  // What this tab receives, summed over its connections (also read by the tests).
  function inbound() {
    var ids = Object.keys(links);
    return Promise.all(ids.map(function (id) { return links[id].pc.getStats(); })).then(function (reports) {
      var sum = { framesDecoded: 0, audioBytes: 0, videoBytes: 0, lost: 0, received: 0, rtt: null, relayed: false, connections: ids.length };
      reports.forEach(function (report) {
        var pairs = {};
        report.forEach(function (s) { pairs[s.id] = s; });
        report.forEach(function (s) {
          if (s.type === "inbound-rtp") {
            if (s.kind === "video") { sum.framesDecoded += s.framesDecoded || 0; sum.videoBytes += s.bytesReceived || 0; }
            if (s.kind === "audio") { sum.audioBytes += s.bytesReceived || 0; }
            sum.lost += Math.max(0, s.packetsLost || 0);
            sum.received += s.packetsReceived || 0;
          }
          if (s.type === "transport" && s.selectedCandidatePairId && pairs[s.selectedCandidatePairId]) {
            var pair = pairs[s.selectedCandidatePairId];
            if (typeof pair.currentRoundTripTime === "number") { sum.rtt = Math.max(sum.rtt || 0, pair.currentRoundTripTime * 1000); }
            var cand = pairs[pair.localCandidateId];
            if (cand && cand.candidateType === "relay") { sum.relayed = true; }
          }
        });
      });
      return sum;
    });
  }

  var qualityLabel = $("quality").textContent.split(":")[0];
  var lastBytes = null;
  var lastTime = 0;
  setInterval(function () {
    if (!me.admitted || me.ended || Object.keys(links).length === 0) { return; }
    inbound().then(function (s) {
      var now = performance.now();
      var bytes = s.audioBytes + s.videoBytes;
      var kbps = lastBytes === null ? 0 : Math.max(0, Math.round((bytes - lastBytes) * 8 / (now - lastTime)));
      lastBytes = bytes;
      lastTime = now;
      var loss = s.received + s.lost > 0 ? Math.round(1000 * s.lost / (s.received + s.lost)) : 0;
      var rtt = Math.round(s.rtt || 0);
      quality.samples += 1;
      quality.rtt += (rtt - quality.rtt) / quality.samples;
      quality.kbps += (kbps - quality.kbps) / quality.samples;
      quality.loss = loss;
      quality.relayed = quality.relayed || s.relayed;
      var grade = loss > 50 || rtt > 400 ? "poor" : loss > 20 || rtt > 200 ? "fair" : "good";
      var el = $("quality");
      el.setAttribute("data-grade", grade);
      el.className = "pill " + (grade === "good" ? "good" : grade === "poor" ? "bad" : "");
      el.textContent = qualityLabel + ": " + t(grade) + " · " + rtt + " ms";
      if (quality.samples % 5 === 1) { reportQuality(); }
    });
  }, 2000);

  function reportQuality() {
    if (quality.samples === 0) { return; }
    send({
      type: "quality",
      rtt_ms: Math.round(quality.rtt),
      loss_permille: Math.min(1000, quality.loss),
      bitrate_kbps: Math.round(quality.kbps),
      relayed: quality.relayed
    });
  }
  // The clinician's last report goes in before the call is closed.
  if (end) { end.addEventListener("click", reportQuality, true); }

  // What the call is doing, for support and for tests: each link's peer, state and
  // current ICE username fragment.
  function connections() {
    return Object.keys(links).map(function (id) {
      var sdp = links[id].pc.localDescription ? links[id].pc.localDescription.sdp : "";
      var ufrag = /a=ice-ufrag:(\S+)/.exec(sdp);
      return { peer: id, state: links[id].pc.connectionState, ufrag: ufrag ? ufrag[1] : null };
    });
  }
  function restartIce() {
    Object.keys(links).forEach(function (id) { if (links[id].offerer) { offer(id, true); } });
  }

  // ---- one's own picture: small in a corner of the other's, and movable ---------------
  // While someone else is on screen, the self-view floats over their video (CSS); a
  // finger or the mouse moves it out of the way, kept inside the video area.
  (function movableSelfView() {
    var tile = document.querySelector("#videos .tile.me");
    if (!tile) { return; }
    var drag = null;
    tile.addEventListener("pointerdown", function (e) {
      if (getComputedStyle(tile).position !== "absolute") { return; }
      var box = tile.getBoundingClientRect();
      drag = { dx: e.clientX - box.left, dy: e.clientY - box.top };
      tile.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    tile.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      var area = $("videos").getBoundingClientRect();
      var box = tile.getBoundingClientRect();
      var x = Math.min(Math.max(e.clientX - area.left - drag.dx, 0), area.width - box.width);
      var y = Math.min(Math.max(e.clientY - area.top - drag.dy, 0), area.height - box.height);
      tile.classList.add("moved");
      tile.style.left = x + "px";
      tile.style.top = y + "px";
    });
    function stop() { drag = null; }
    tile.addEventListener("pointerup", stop);
    tile.addEventListener("pointercancel", stop);
  })();

  window.telemedRoom = {
    me: me, known: known, inbound: inbound, reportQuality: reportQuality,
    connections: connections, restartIce: restartIce
  };

  // ---- start --------------------------------------------------------------------------
  openMedia(null, null).then(function (s) {
    local = s;
    if (local) { showLocal(); listDevices(); }
    loadChat();
    mediaReady = true;
    maybeJoin();
  });
})();
