// /call: a 1:1 video call. Camera and microphone (getUserMedia), one RTCPeerConnection with
// the iceServers of /credentials, offer/answer and trickle ICE over /ws?room=NAME. The peer
// already waiting in the room makes the offer when the second one joins.
//   ?room=NAME        the room (a random one is made and put in the address when missing)
//   ?relay=1          iceTransportPolicy "relay": TURN only
//   ?transport=udp|tcp|tls   only the TURN URIs of that transport
// window.callStats holds what the panel shows (read by tests/browser/call.test.mjs).
import { fetchCredentials, filterIceServers, setText } from '/common.js';

const params = new URLSearchParams(location.search);
let room = params.get('room');
if (!room || !/^[A-Za-z0-9_-]{1,64}$/.test(room)) {
  room = Math.random().toString(36).slice(2, 10);
  params.set('room', room);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
const relayOnly = params.get('relay') === '1';
const transport = params.get('transport') || '';

const status = (text, cls = '') => setText('status', text, cls);
const localVideo = document.getElementById('local');
const remoteVideo = document.getElementById('remote');
let media = null, ws = null, pc = null, iceServers = null, statsTimer = null;
let pendingCandidates = [];
let inbox = Promise.resolve();
window.callStats = { connectionState: 'new' };

function reloadWith(key, value) {
  if (value) params.set(key, value); else params.delete(key);
  location.search = params.toString();
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function newPeerConnection() {
  closePeerConnection();
  pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
  for (const track of media.getTracks()) pc.addTrack(track, media);
  pc.onicecandidate = (e) => { if (e.candidate) send({ type: 'candidate', candidate: e.candidate.toJSON() }); };
  pc.onicecandidateerror = (e) => console.warn(`icecandidateerror ${e.errorCode} ${e.errorText} ${e.url}`);
  pc.ontrack = (e) => { if (remoteVideo.srcObject !== e.streams[0]) remoteVideo.srcObject = e.streams[0]; };
  pc.onconnectionstatechange = () => {
    window.callStats.connectionState = pc.connectionState;
    setText('s-state', pc.connectionState);
    if (pc.connectionState === 'connected') status('connected', 'ok');
    if (pc.connectionState === 'failed') status('connection failed: no candidate pair worked', 'error');
  };
  pendingCandidates = [];
  statsTimer = setInterval(updateStats, 1000);
  return pc;
}

function closePeerConnection() {
  if (statsTimer) clearInterval(statsTimer);
  statsTimer = null;
  if (pc) pc.close();
  pc = null;
  remoteVideo.srcObject = null;
}

async function addCandidate(candidate) {
  if (!pc || !pc.remoteDescription) { pendingCandidates.push(candidate); return; }
  try { await pc.addIceCandidate(candidate); } catch (e) { console.warn(`addIceCandidate: ${e}`); }
}

async function onMessage(msg) {
  switch (msg.type) {
    case 'joined':
      status(msg.peers === 1 ? 'waiting for the other peer to open this room' : 'joined, waiting for the offer');
      break;
    case 'peer-joined': {  // we were waiting: we call
      status('calling');
      newPeerConnection();
      await pc.setLocalDescription(await pc.createOffer());
      send({ type: 'offer', sdp: pc.localDescription.sdp });
      break;
    }
    case 'offer': {
      status('answering');
      newPeerConnection();
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', sdp: pc.localDescription.sdp });
      for (const c of pendingCandidates.splice(0)) await addCandidate(c);
      break;
    }
    case 'answer':
      if (!pc) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      for (const c of pendingCandidates.splice(0)) await addCandidate(c);
      break;
    case 'candidate':
      await addCandidate(msg.candidate);
      break;
    case 'bye':
    case 'peer-left':
      closePeerConnection();
      status('the other peer left; waiting for someone to join');
      break;
    default:
      break;
  }
}

function connectSignalling() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  ws = new WebSocket(`${scheme}://${location.host}/ws?room=${encodeURIComponent(room)}`);
  ws.onmessage = (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch (err) { return; }
    // One at a time: a candidate must not overtake the offer it belongs to.
    inbox = inbox.then(() => onMessage(msg)).catch((err) => status(`error: ${err}`, 'error'));
  };
  ws.onclose = (e) => {
    if (e.code >= 4000 || e.code === 1009 || e.code === 1013) status(`signalling closed: ${e.reason || e.code}`, 'error');
  };
}

const kbps = (bytes, ms) => (ms > 0 ? Math.round((bytes * 8) / ms) : 0);
let lastBytes = null;

async function updateStats() {
  if (!pc) return;
  const report = await pc.getStats();
  const s = { connectionState: pc.connectionState, framesDecoded: 0, audioPacketsReceived: 0 };
  let pair = null, bytesIn = 0, bytesOut = 0, at = 0;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
    if (r.type === 'inbound-rtp' && r.kind === 'video') s.framesDecoded = r.framesDecoded || 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') s.audioPacketsReceived = r.packetsReceived || 0;
    if (r.type === 'inbound-rtp') bytesIn += r.bytesReceived || 0;
    if (r.type === 'outbound-rtp') bytesOut += r.bytesSent || 0;
    at = Math.max(at, r.timestamp);
  });
  if (pair) {
    const local = report.get(pair.localCandidateId) || {};
    const remote = report.get(pair.remoteCandidateId) || {};
    s.localType = local.candidateType;
    s.remoteType = remote.candidateType;
    s.relayProtocol = local.relayProtocol || '';
    s.rttMs = pair.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null;
    setText('s-local', `${local.candidateType} ${local.protocol} ${local.address}:${local.port}`);
    setText('s-remote', `${remote.candidateType} ${remote.protocol} ${remote.address}:${remote.port}`);
    setText('s-relay', s.relayProtocol || '(not relayed here)');
    setText('s-rtt', s.rttMs === null ? '-' : `${s.rttMs} ms`);
  }
  if (lastBytes) {
    s.kbpsIn = kbps(bytesIn - lastBytes.in, at - lastBytes.at);
    s.kbpsOut = kbps(bytesOut - lastBytes.out, at - lastBytes.at);
    setText('s-bitrate', `${s.kbpsIn} / ${s.kbpsOut} kbit/s`);
  }
  lastBytes = { in: bytesIn, out: bytesOut, at };
  setText('s-frames', String(s.framesDecoded));
  setText('s-audio', String(s.audioPacketsReceived));
  window.callStats = s;
}

function hangUp() {
  send({ type: 'bye' });
  closePeerConnection();
  if (ws) ws.close(1000, 'hang up');
  if (media) for (const t of media.getTracks()) t.stop();
  localVideo.srcObject = null;
  status('hung up (reload to call again)');
}

async function start() {
  setText('room', room);
  const relayBox = document.getElementById('relay');
  relayBox.checked = relayOnly;
  relayBox.onchange = () => reloadWith('relay', relayBox.checked ? '1' : '');
  const transportBox = document.getElementById('transport');
  transportBox.value = transport;
  transportBox.onchange = () => reloadWith('transport', transportBox.value);
  document.getElementById('hangup').onclick = hangUp;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (e) {
    status(`no camera or microphone: ${e.message} (the page needs HTTPS off loopback)`, 'error');
    return;
  }
  localVideo.srcObject = media;
  try {
    iceServers = filterIceServers((await fetchCredentials()).iceServers, transport);
  } catch (e) {
    status(`no credentials: ${e.message}`, 'error');
    return;
  }
  if (iceServers.length === 0) {
    status(`this server advertises no ${transport} URI`, 'error');
    return;
  }
  connectSignalling();
}

start();
