// /ice: one RTCPeerConnection per URI of /credentials, each gathering on its own, so every
// candidate and icecandidateerror is tied to the URI that made it. Verdict per URI: stun:
// needs a srflx candidate (or, with no NAT in between, a gathering that ended without error),
// turn:/turns: a relay candidate. window.iceResult holds the outcome
// (read by tests/browser/call.test.mjs).
import { fetchCredentials, setText, transportOf } from '/common.js';

const kGatherTimeoutMs = 10000;

function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

async function gather(server, url) {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const result = { url, transport: transportOf(url), candidates: [], errors: [] };
  const iceServer = { urls: [url] };
  if (server.username) Object.assign(iceServer, { username: server.username, credential: server.credential });
  const pc = new RTCPeerConnection({ iceServers: [iceServer] });
  pc.createDataChannel('probe');
  const done = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(true); };
    setTimeout(() => resolve(false), kGatherTimeoutMs);
  });
  pc.onicecandidate = (e) => {
    const c = e.candidate;
    if (!c || !c.candidate) return;
    result.candidates.push({
      ms: ms(), type: c.type, protocol: c.protocol, address: c.address, port: c.port,
      relayProtocol: c.relayProtocol || '',
    });
  };
  pc.onicecandidateerror = (e) => {
    result.errors.push({ ms: ms(), errorCode: e.errorCode, errorText: e.errorText, url: e.url });
  };
  await pc.setLocalDescription(await pc.createOffer());
  result.complete = await done;
  // getStats knows the relay protocol (udp, tcp, tls) of a relay candidate.
  const stats = await pc.getStats();
  stats.forEach((r) => {
    if (r.type !== 'local-candidate' || !r.relayProtocol) return;
    for (const c of result.candidates)
      if (c.type === 'relay' && c.port === r.port && c.address === r.address) c.relayProtocol = r.relayProtocol;
  });
  pc.close();
  result.ms = ms();
  const wanted = result.transport === 'stun' ? 'srflx' : 'relay';
  const found = result.candidates.find((c) => c.type === wanted);
  const error = result.errors[0];
  if (found) {
    result.ok = true;
    result.verdict = `works: ${wanted} candidate in ${found.ms} ms`;
  } else if (wanted === 'srflx' && result.complete && !error) {
    // The server answered (an unanswered STUN URI ends in error 701), but the address it saw
    // is one of this browser's own: no NAT in between, and the browser drops a srflx
    // candidate equal to a host candidate.
    result.ok = true;
    result.noNat = true;
    result.verdict = `works: answered in ${result.ms} ms; no NAT in between (your address is a host candidate, so no separate srflx)`;
  } else {
    result.ok = false;
    result.verdict = `no ${wanted} candidate` +
      (error ? ` (error ${error.errorCode} ${error.errorText})` : result.complete ? '' : ` within ${kGatherTimeoutMs / 1000} s`);
  }
  return result;
}

function show(result) {
  const row = document.createElement('tr');
  cell(row, result.url);
  cell(row, result.verdict, result.ok ? 'ok' : 'error');
  cell(row, result.candidates.map((c) => `${c.ms} ${c.type} ${c.protocol}${c.relayProtocol ? `/${c.relayProtocol}` : ''} ${c.address}:${c.port}`).join('\n') || '(none)');
  cell(row, result.errors.map((e) => `${e.ms} ${e.errorCode} ${e.errorText}`).join('\n') || '-');
  document.getElementById('rows').appendChild(row);
}

async function run() {
  document.getElementById('rows').textContent = '';
  window.iceResult = { done: false, rows: [] };
  let credentials;
  try {
    credentials = await fetchCredentials();
  } catch (e) {
    setText('status', `no credentials: ${e.message}`, 'error');
    window.iceResult = { done: true, error: e.message, rows: [] };
    return;
  }
  setText('status', 'gathering (up to 10 s per URI, all at once)');
  const jobs = [];
  for (const server of credentials.iceServers)
    for (const url of [].concat(server.urls)) jobs.push(gather(server, url));
  const rows = await Promise.all(jobs);
  rows.forEach(show);
  const working = rows.filter((r) => r.ok).length;
  setText('status', `${working} of ${rows.length} URIs work from this browser`, working === rows.length ? 'ok' : 'error');
  window.iceResult = { done: true, rows };
}

document.getElementById('again').onclick = run;
run();
