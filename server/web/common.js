// Shared by /call and /ice: credentials from /credentials and the transport filter.
'use strict';

// {iceServers, ttl} from the server, or throws with its error message.
export async function fetchCredentials() {
  const r = await fetch('/credentials', { cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON: reported below */ }
  if (!r.ok) throw new Error((body && body.error) || `/credentials answered ${r.status}`);
  return body;
}

// The transport an URI uses: "udp", "tcp" or "tls" (turns:), or "stun".
export function transportOf(url) {
  if (url.startsWith('stun:')) return 'stun';
  if (url.startsWith('turns:')) return 'tls';
  return /[?&]transport=tcp/.test(url) ? 'tcp' : 'udp';
}

// iceServers with only the URIs of `transport` ("udp", "tcp", "tls"); all when empty.
export function filterIceServers(iceServers, transport) {
  if (!transport) return iceServers;
  return iceServers
    .map((s) => ({ ...s, urls: [].concat(s.urls).filter((u) => transportOf(u) === transport) }))
    .filter((s) => s.urls.length > 0);
}

export function setText(id, text, cls) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (cls !== undefined) el.className = cls;
}
