// The browser phone (SPEC T1, C5, D1): JsSIP over SIP-over-WebSocket to
// Switchboard's /sip, registered as one more device of the user's
// extension, so it rings together with the desk phone and the first to
// answer wins. The socket is opened with the console's session cookie and
// that login is the credential (docs/API.md "/sip"): no SIP password here.
//
// This module owns the user agent and its calls ("lines") and exposes them
// as signals; panel.tsx draws them. Call control beyond the media (hold,
// transfer, consult, reject) goes through the REST API like any desk phone
// (see apiCallOf), so the console and the server agree on the call's state.

import { batch, effect, signal } from '@preact/signals';
// JsSIP is loaded when the phone is turned on (a separate chunk): a
// console that never uses the browser as a phone does not download it.
import type { UA } from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession';
import { me } from '../session';
import { myCalls, myParty, ringingAt } from '../calls';
import type { Call } from '../types';

/** RegState is the phone's registration as the panel shows it. */
export type RegState = 'off' | 'starting' | 'connecting' | 'registered' | 'reconnecting' | 'failed';

/** PhoneError is a problem the user can act on, with its kind for tests and styling. */
export interface PhoneError {
  kind: 'insecure' | 'no-microphone' | 'permission' | 'microphone-busy' | 'connection' | 'registration' | 'call';
  text: string;
}

/** Line is one call of the browser phone. */
export interface Line {
  id: string;
  direction: 'incoming' | 'outgoing';
  remote: string; // number (and name) of the other side as SIP gave it
  state: 'ringing' | 'calling' | 'active' | 'ended';
  muted: boolean;
  autoAnswer: boolean; // a click-to-call or pickup leg (Call-Info answer-after=0)
  startedAt: number;
  answeredAt?: number;
  ended?: string; // why it ended, shown briefly
}

// Per user: on a shared computer the next user's console does not start someone else's preference.
const enabledKey = () => 'sb.phone.enabled.' + (me.value?.user.id ?? '');
const LS_MIC = 'sb.phone.mic';

export const regState = signal<RegState>('off');
export const phoneError = signal<PhoneError | null>(null);
export const extension = signal('');
export const lines = signal<Line[]>([]);
export const microphones = signal<MediaDeviceInfo[]>([]);
export const micId = signal(localStorage.getItem(LS_MIC) ?? '');
/** reconnectIn is the seconds until the next connection attempt while reconnecting. */
export const attempts = signal(0);

let ua: UA | null = null;
let audioCtx: AudioContext | null = null;
const sessions = new Map<string, RTCSession>();
const localStreams = new Map<string, MediaStream>();
const remoteStreams = new Map<string, MediaStream>();
const audioEls = new Map<string, HTMLAudioElement>();
/** apiIds remembers which API call a line is, once known. */
const apiIds = new Map<string, string>();
let regRetry: number | undefined;
let regFailures = 0;

/** ctx is the page's one AudioContext (ring tone, level meters, test tones). */
export function ctx(): AudioContext {
  if (!audioCtx) audioCtx = new AudioContext();
  if (audioCtx.state === 'suspended') void audioCtx.resume();
  return audioCtx;
}

function update(id: string, f: (l: Line) => Partial<Line>) {
  lines.value = lines.value.map((l) => (l.id === id ? { ...l, ...f(l) } : l));
}

/** describeMediaError explains a getUserMedia failure in words the user can act on. */
export function describeMediaError(e: unknown): PhoneError {
  const name = (e as { name?: string })?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return {
      kind: 'permission',
      text: 'The browser was not allowed to use the microphone. Allow it for this site (the icon left of the address), then try again.',
    };
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return { kind: 'no-microphone', text: 'No microphone found. Plug in a headset, then choose it here.' };
  if (name === 'NotReadableError' || name === 'AbortError')
    return { kind: 'microphone-busy', text: 'The microphone is in use by another program or could not be started.' };
  return { kind: 'no-microphone', text: 'The microphone could not be opened: ' + String((e as Error)?.message ?? e) };
}

/** testToneHz: browser tests replace the microphone by a tone (an oscillator), one pitch per page. */
function testToneHz(): number {
  return Number((window as any).__phoneTestToneHz ?? 0);
}

/** microphone opens the chosen microphone (or, in a browser test, an oscillator). */
export async function microphone(): Promise<MediaStream> {
  const hz = testToneHz();
  if (hz > 0) {
    const c = ctx();
    const osc = c.createOscillator();
    osc.frequency.value = hz;
    const gain = c.createGain();
    gain.gain.value = 0.3;
    const dest = c.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    return dest.stream;
  }
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('insecure'), { name: 'InsecureContext' });
  const id = micId.value;
  const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (id) audio.deviceId = { exact: id };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: false });
  } catch (e) {
    // The chosen headset went away: fall back to the default microphone.
    if (id && (e as Error).name === 'OverconstrainedError') return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    throw e;
  }
}

/** listMicrophones re-reads the microphones (their names need a granted permission). */
export async function listMicrophones() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const all = await navigator.mediaDevices.enumerateDevices();
  microphones.value = all.filter((d) => d.kind === 'audioinput');
}

export function chooseMicrophone(id: string) {
  micId.value = id;
  localStorage.setItem(LS_MIC, id);
}

/**
 * checkMicrophone asks for the microphone once when the phone is turned on,
 * so a refused permission or a missing headset is said before a call
 * rings, not when the customer is waiting.
 */
async function checkMicrophone(): Promise<boolean> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    phoneError.value = {
      kind: 'insecure',
      text: 'The browser allows the microphone only on https:// or on this computer (localhost). Open the console over https to use the phone.',
    };
    return false;
  }
  try {
    // The real microphone, even when a test tone stands in for it in calls.
    const s = await navigator.mediaDevices.getUserMedia({ audio: micId.value ? { deviceId: { exact: micId.value } } : true, video: false });
    s.getTracks().forEach((t) => t.stop());
    await listMicrophones();
    return true;
  } catch (e) {
    phoneError.value = describeMediaError(e);
    return false;
  }
}

/** start turns the phone on: microphone check, then register over /sip. */
export async function start() {
  const m = me.value;
  if (!m || m.extensions.length === 0) return;
  if (ua) return;
  localStorage.setItem(enabledKey(), '1');
  ctx();
  regState.value = 'starting';
  phoneError.value = null;
  const ext = extension.value && m.extensions.includes(extension.value) ? extension.value : m.extensions[0];
  extension.value = ext;
  // A missing microphone is told, but the phone still registers: calls can ring and be moved on.
  await checkMicrophone();
  if (localStorage.getItem(enabledKey()) !== '1') return; // turned off meanwhile
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/sip';
  let jssip: typeof import('jssip');
  try {
    jssip = await import('jssip');
  } catch (e) {
    regState.value = 'off';
    phoneError.value = { kind: 'connection', text: 'The phone could not be loaded: ' + String(e) };
    return;
  }
  if (ua || localStorage.getItem(enabledKey()) !== '1') return; // started twice, or turned off meanwhile
  // JsSIP is CommonJS: through a dynamic import its exports are the default.
  const { UA, WebSocketInterface } = ((jssip as unknown as { default?: typeof jssip }).default ?? jssip) as typeof jssip;
  const u = new UA({
    sockets: [new WebSocketInterface(url)],
    uri: `sip:${ext}@${location.hostname}`,
    display_name: m.user.display_name,
    register: true,
    register_expires: 600,
    session_timers: false,
    // Socket loss: JsSIP reconnects after 1–2 s, then backs off up to 30 s, and registers again.
    connection_recovery_min_interval: 1,
    connection_recovery_max_interval: 30,
    user_agent: 'Switchboard console',
  });
  ua = u;
  regState.value = 'connecting';
  u.on('connecting', (e) => {
    if (ua !== u) return;
    attempts.value = e.attempts;
    if (regState.value !== 'connecting') regState.value = 'reconnecting';
  });
  u.on('disconnected', () => {
    if (ua !== u) return;
    regState.value = 'reconnecting';
    phoneError.value = { kind: 'connection', text: 'Connection to Switchboard lost — reconnecting; calls on this phone have ended.' };
    // The server ends a lost socket's calls (CDR reason connection_lost); end them here too.
    for (const [id, s] of sessions) {
      try {
        s.terminate();
      } catch {
        /* already ending */
      }
      finish(id, 'Connection lost');
    }
  });
  u.on('registered', () => {
    if (ua !== u) return;
    regFailures = 0;
    attempts.value = 0;
    batch(() => {
      regState.value = 'registered';
      if (phoneError.value?.kind === 'connection' || phoneError.value?.kind === 'registration') phoneError.value = null;
    });
  });
  u.on('unregistered', () => {
    if (ua === u && regState.value === 'registered') regState.value = 'connecting';
  });
  u.on('registrationFailed', (e) => {
    if (ua !== u) return;
    regState.value = 'failed';
    phoneError.value = { kind: 'registration', text: `Registration refused: ${e.cause ?? e.response?.reason_phrase ?? 'unknown'} — retrying.` };
    // JsSIP does not retry a refused registration by itself: back off 2 s … 60 s.
    clearTimeout(regRetry);
    const delay = Math.min(60000, 2000 * 2 ** regFailures++);
    regRetry = window.setTimeout(() => ua === u && u.register(), delay);
  });
  u.on('newRTCSession', (e: any) => adopt(e.session as RTCSession, e.originator === 'remote' ? 'incoming' : 'outgoing', e.request));
  u.start();
}

/** stop unregisters and closes the socket; calls on this phone end. */
export function stop(forget = true) {
  if (forget) localStorage.removeItem(enabledKey());
  clearTimeout(regRetry);
  const u = ua;
  ua = null;
  for (const [id, s] of sessions) {
    try {
      s.terminate();
    } catch {
      /* ended */
    }
    finish(id, 'Phone turned off');
  }
  u?.stop();
  regState.value = 'off';
  phoneError.value = null;
}

/** wasEnabled: the user had the phone on (it starts again after a reload). */
export const wasEnabled = () => localStorage.getItem(enabledKey()) === '1';

function remoteOf(s: RTCSession): string {
  const id = s.remote_identity;
  const num = id?.uri?.user ?? '';
  const name = id?.display_name ?? '';
  return name && name !== num ? `${name} (${num})` : num;
}

let lineSeq = 0;

function adopt(s: RTCSession, direction: 'incoming' | 'outgoing', request: any) {
  const id = 'l' + ++lineSeq;
  sessions.set(id, s);
  const callInfo = direction === 'incoming' ? String(request?.getHeader?.('Call-Info') ?? '') : '';
  const line: Line = {
    id,
    direction,
    remote: remoteOf(s),
    state: direction === 'incoming' ? 'ringing' : 'calling',
    muted: false,
    autoAnswer: /answer-after=0/.test(callInfo),
    startedAt: Date.now(),
  };
  lines.value = [...lines.value.filter((l) => l.state !== 'ended'), line];
  const attach = (pc: RTCPeerConnection) => {
    pc.addEventListener('track', (ev) => playRemote(id, ev.streams[0] ?? new MediaStream([ev.track])));
  };
  if (s.connection) attach(s.connection);
  s.on('peerconnection', (ev: any) => attach(ev.peerconnection));
  s.on('accepted', () => {
    update(id, () => ({ state: 'active', answeredAt: Date.now() }));
    // Some browsers fire 'track' before we listened: read the receivers too.
    const pc = s.connection;
    if (pc && !remoteStreams.has(id)) {
      const tracks = pc.getReceivers().map((r) => r.track).filter((t): t is MediaStreamTrack => !!t);
      if (tracks.length) playRemote(id, new MediaStream(tracks));
    }
  });
  s.on('ended', (ev: any) => finish(id, ev.originator === 'local' ? 'You hung up' : 'Call ended'));
  s.on('failed', (ev: any) => {
    const cause = String(ev.cause ?? '');
    finish(id, ev.originator === 'local' ? 'Cancelled' : cause === 'Canceled' ? 'Answered elsewhere or cancelled' : cause || 'Failed');
  });
  if (line.autoAnswer && !lines.value.some((l) => l.id !== id && l.state === 'active')) void answer(id);
}

function playRemote(id: string, stream: MediaStream) {
  remoteStreams.set(id, stream);
  let el = audioEls.get(id);
  if (!el) {
    // An <audio> element plays the far end; it also makes WebAudio read
    // the remote stream at all (without one, Chromium hands it silence).
    el = document.createElement('audio');
    el.autoplay = true;
    el.dataset.phoneLine = id;
    el.style.display = 'none';
    document.body.appendChild(el);
    audioEls.set(id, el);
  }
  el.srcObject = stream;
  void el.play().catch(() => {
    /* autoplay blocked until the next click; the answer click usually is one */
  });
}

function finish(id: string, why: string) {
  if (!sessions.has(id)) return;
  sessions.delete(id);
  localStreams.get(id)?.getTracks().forEach((t) => t.stop());
  localStreams.delete(id);
  remoteStreams.delete(id);
  const el = audioEls.get(id);
  if (el) {
    el.srcObject = null;
    el.remove();
    audioEls.delete(id);
  }
  apiIds.delete(id);
  update(id, () => ({ state: 'ended', ended: why }));
  // The ended line shows its reason for a few seconds.
  setTimeout(() => (lines.value = lines.value.filter((l) => l.id !== id)), 4000);
}

/** pcConfig: the server's STUN/TURN list (GET /api/me), so browsers behind NAT reach the media too. */
function pcConfig(): RTCConfiguration {
  return { iceServers: (me.value?.ice_servers ?? []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })) };
}

/** answer takes a ringing call in the browser. */
export async function answer(id: string) {
  const s = sessions.get(id);
  if (!s) return;
  ctx();
  let stream: MediaStream;
  try {
    stream = await microphone();
  } catch (e) {
    phoneError.value = describeMediaError(e);
    return;
  }
  if (!sessions.has(id)) {
    stream.getTracks().forEach((t) => t.stop());
    return; // answered elsewhere meanwhile
  }
  localStreams.set(id, stream);
  try {
    s.answer({ mediaStream: stream, pcConfig: pcConfig(), mediaConstraints: { audio: true, video: false } });
  } catch (e) {
    phoneError.value = { kind: 'call', text: 'Answering failed: ' + String((e as Error).message ?? e) };
  }
}

/** dial calls a number or extension from the browser. */
export async function dial(target: string) {
  const t = target.replace(/[\s()-]/g, '');
  if (!ua || !t) return;
  ctx();
  let stream: MediaStream;
  try {
    stream = await microphone();
  } catch (e) {
    phoneError.value = describeMediaError(e);
    return;
  }
  const s = ua.call(`sip:${t}@${location.hostname}`, { mediaStream: stream, pcConfig: pcConfig(), mediaConstraints: { audio: true, video: false } });
  const id = [...sessions].find(([, x]) => x === s)?.[0];
  if (id) localStreams.set(id, stream);
}

/** hangup ends (or, while it rings here, declines) a line in the browser. */
export function hangup(id: string) {
  const s = sessions.get(id);
  if (!s) return;
  try {
    s.terminate(s.isEstablished() || s.direction === 'outgoing' ? undefined : { status_code: 486, reason_phrase: 'Busy Here' });
  } catch {
    finish(id, 'Ended');
  }
}

export function setMuted(id: string, muted: boolean) {
  const s = sessions.get(id);
  if (!s) return;
  if (muted) s.mute({ audio: true });
  else s.unmute({ audio: true });
  update(id, () => ({ muted }));
}

/** dtmf sends digits in the call as RFC 4733 events. */
export function dtmf(id: string, digits: string) {
  sessions.get(id)?.sendDTMF(digits, { transportType: 'RFC2833' as any, duration: 120, interToneGap: 70 });
}

/** localStream / remoteStream give the level meter (and browser tests) the audio. */
export const localStream = (id: string) => localStreams.get(id);
export const remoteStream = (id: string) => remoteStreams.get(id);

/**
 * apiCallOf finds the API's call for a line, to hold, transfer or reject
 * it like a desk phone's call: the browser is one device of my extension,
 * so it is the call of mine in the same phase — ringing at my extension for
 * a ringing line, one I talk in (answered nearest to this line) for an
 * active one. Once found it is remembered for the line.
 */
export function apiCallOf(l: Line): Call | undefined {
  const mine = new Set(me.value?.extensions ?? []);
  const list = myCalls.value;
  const known = apiIds.get(l.id);
  if (known) {
    const c = list.find((x) => x.id === known);
    if (c) return c;
  }
  let found: Call | undefined;
  if (l.state === 'ringing') {
    found = [...list].reverse().find((c) => ringingAt(c).some((e) => mine.has(e)) && !myParty(c, mine));
  } else if (l.state === 'calling') {
    found = [...list].reverse().find((c) => c.from.kind === 'extension' && mine.has(c.from.number) && c.state !== 'answered');
  } else if (l.state === 'active') {
    const at = l.answeredAt ?? l.startedAt;
    let best = Infinity;
    for (const c of list) {
      if (!myParty(c, mine)) continue;
      const d = Math.abs(Date.parse(c.answered_at ?? c.started_at) - at);
      if (d < best && !(c.id !== known && [...apiIds.values()].includes(c.id))) {
        best = d;
        found = c;
      }
    }
  }
  if (found && l.state === 'active') apiIds.set(l.id, found.id);
  return found;
}

// The ring: a generated two-tone cadence (no sound file), 1.2 s on, 2.8 s off,
// while any line rings here and is not answered automatically.
let ringTimer: number | undefined;
function ringOnce() {
  const c = ctx();
  const g = c.createGain();
  g.gain.value = 0;
  g.connect(c.destination);
  const t0 = c.currentTime;
  for (const f of [440, 480]) {
    const o = c.createOscillator();
    o.frequency.value = f;
    o.connect(g);
    o.start(t0);
    o.stop(t0 + 1.25);
  }
  g.gain.setValueAtTime(0, t0);
  g.gain.linearRampToValueAtTime(0.12, t0 + 0.03);
  g.gain.setValueAtTime(0.12, t0 + 1.17);
  g.gain.linearRampToValueAtTime(0, t0 + 1.2);
}
effect(() => {
  const ringing = lines.value.some((l) => l.state === 'ringing' && !l.autoAnswer);
  if (ringing && ringTimer === undefined) {
    ringOnce();
    ringTimer = window.setInterval(ringOnce, 4000);
  } else if (!ringing && ringTimer !== undefined) {
    clearInterval(ringTimer);
    ringTimer = undefined;
  }
});

// Log out: the phone goes too. Log in: it comes back if it was on.
effect(() => {
  const m = me.value;
  if (!m && ua) stop(false);
  else if (m && !ua && wasEnabled() && regState.peek() === 'off') void start();
});

navigator.mediaDevices?.addEventListener?.('devicechange', () => void listMicrophones());
// After a reload the phone starts by itself, but browsers keep audio
// suspended until the user touches the page: the first click anywhere lets the ring sound.
document.addEventListener('pointerdown', () => audioCtx?.state === 'suspended' && void audioCtx.resume(), { capture: true });

// Browser tests read the phone here.
(window as any).__switchboardPhone = { regState, lines, phoneError, remoteStream, localStream, ctx };
