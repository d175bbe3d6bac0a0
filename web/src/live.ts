// The live state of the organisation as this user may see it, kept by one
// WebSocket (/api/ws). On every (re)connect the console resumes from the last
// sequence number it applied; when the server cannot replay, its fresh
// snapshot replaces the calls wholesale, so a reconnect never leaves a stale
// call on screen.

import { batch, signal } from '@preact/signals';
import type { BusEvent, Call } from './types';

/** Connection is what the header shows about the live feed. */
export type Connection = 'offline' | 'connecting' | 'live' | 'reconnecting';

/** calls holds the live calls by id; replaced (not mutated) on each change. */
export const calls = signal<Map<string, Call>>(new Map());
/** connection is the live feed's state. */
export const connection = signal<Connection>('offline');
/** lastSeq is the sequence number of the last event applied. */
export const lastSeq = signal(0);
/** snapshots counts the snapshots received (tests and the reconnect banner read it). */
export const snapshots = signal(0);

type Listener = (e: BusEvent) => void;
const listeners = new Map<string, Set<Listener>>();

/** onEvent calls f for every event of the given type ('*' for all); returns the unsubscribe. */
export function onEvent(type: string, f: Listener): () => void {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  set.add(f);
  return () => set!.delete(f);
}

/** snapshotListeners are told after each snapshot: other state must be re-read. */
const snapshotListeners = new Set<() => void>();
export function onSnapshot(f: () => void): () => void {
  snapshotListeners.add(f);
  return () => snapshotListeners.delete(f);
}

let ws: WebSocket | null = null;
let topics: string[] = ['org'];
let retry = 0;
let stopped = true;
let timer: number | undefined;
let pending: BusEvent[] = [];
let flushScheduled = false;
let firstPendingAt = 0;

/**
 * renderLatency keeps the last 1,000 event-to-render times (ms): from the
 * arrival of a message to the first frame drawn after applying it. The
 * browser tests read it for docs/PERFORMANCE.md.
 */
const renderLatency: number[] = [];

/** start opens the feed (after login). */
export function start(t: string[]) {
  topics = t;
  stopped = false;
  retry = 0;
  connect();
}

/** stop closes the feed (logout) and forgets the calls. */
export function stop() {
  stopped = true;
  clearTimeout(timer);
  ws?.close(1000, 'logout');
  ws = null;
  batch(() => {
    calls.value = new Map();
    connection.value = 'offline';
    lastSeq.value = 0;
  });
}

function connect() {
  if (stopped) return;
  connection.value = lastSeq.value > 0 || retry > 0 ? 'reconnecting' : 'connecting';
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sock = new WebSocket(`${proto}//${location.host}/api/ws`);
  ws = sock;
  sock.onopen = () => {
    const msg: Record<string, unknown> = { type: 'subscribe', topics };
    if (lastSeq.value > 0) msg.resume_from = lastSeq.value;
    sock.send(JSON.stringify(msg));
  };
  sock.onmessage = (m) => {
    let msg: any;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'snapshot': {
        const next = new Map<string, Call>();
        for (const c of msg.calls ?? []) next.set(c.id, c);
        pending = [];
        batch(() => {
          calls.value = next;
          lastSeq.value = msg.seq;
          connection.value = 'live';
          snapshots.value++;
        });
        retry = 0;
        for (const f of snapshotListeners) f();
        break;
      }
      case 'resumed':
        connection.value = 'live';
        retry = 0;
        break;
      case 'event':
        queue(msg.event);
        break;
      case 'events':
        for (const e of msg.events) queue(e);
        break;
    }
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    if (stopped) return;
    connection.value = 'reconnecting';
    // Back off 0.5 s, 1 s, 2 s … up to 10 s, with jitter so a restarted
    // server is not met by every console at once.
    const delay = Math.min(10000, 500 * 2 ** retry) * (0.75 + Math.random() * 0.5);
    retry++;
    timer = window.setTimeout(connect, delay);
  };
}

// Events are applied once per animation frame: a burst of hundreds of call
// events costs one render, not hundreds.
function queue(e: BusEvent) {
  if (pending.length === 0) firstPendingAt = performance.now();
  pending.push(e);
  if (!flushScheduled) {
    flushScheduled = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  flushScheduled = false;
  const evs = pending;
  pending = [];
  if (evs.length === 0) return;
  const arrived = firstPendingAt;
  requestAnimationFrame(() => {
    if (renderLatency.length >= 1000) renderLatency.shift();
    renderLatency.push(performance.now() - arrived);
  });
  let next: Map<string, Call> | null = null;
  for (const e of evs) {
    if (e.seq <= lastSeq.value && e.seq !== 0) continue;
    if (e.type === 'call_hidden' && e.data?.id) {
      next ??= new Map(calls.value);
      next.delete(e.data.id);
      continue;
    }
    const c = callOf(e);
    if (c) {
      next ??= new Map(calls.value);
      // Each call event carries the call's whole new state: replace, never
      // merge, so a field the server dropped (an ended consult) goes too.
      if (e.type === 'call_ended' || c.state === 'ended') next.delete(c.id);
      else next.set(c.id, c);
    }
  }
  batch(() => {
    if (next) calls.value = next;
    lastSeq.value = Math.max(lastSeq.value, evs[evs.length - 1].seq);
  });
  for (const e of evs) {
    listeners.get(e.type)?.forEach((f) => f(e));
    listeners.get('*')?.forEach((f) => f(e));
  }
}

/** callOf is the full call state an event carries, if it carries one. */
export function callOf(e: BusEvent): Call | null {
  if (!e.resource?.startsWith('call:') || !e.data || typeof e.data !== 'object') return null;
  const d = e.data.call && typeof e.data.call === 'object' ? e.data.call : e.data;
  return d.id && 'state' in d && 'parties' in d ? (d as Call) : null;
}

/** now ticks once a second, for durations that count up live. */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1000);

/** since formats the time from an ISO instant to now as m:ss or h:mm:ss. */
export function since(iso: string | undefined, at: number): string {
  if (!iso) return '';
  return duration(Math.max(0, (at - Date.parse(iso)) / 1000));
}

/** duration formats seconds as m:ss or h:mm:ss. */
export function duration(s: number): string {
  s = Math.floor(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

// Browser tests and the performance figures read the live state here.
(window as any).__switchboard = { calls, connection, lastSeq, snapshots, renderLatency };
