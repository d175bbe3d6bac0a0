// The organisation's directory as the console sees it live (SPEC C3, C6,
// D3): every user with their extensions' presence and agent state, every
// queue with its waiting callers — read from GET /api/directory and kept
// current by presence_changed (and queue_stats_updated) events of the
// live feed. The phonebook widget and the transfer dialog read it; it is
// loaded on first use and re-read after every snapshot (a reconnect may
// have missed events). Favourites and recents (C6) live here too: they
// name the directory's users and queues.

import { signal } from '@preact/signals';
import { get, put, describe } from './api';
import { onEvent, onSnapshot } from './live';

/** Presence of an extension (the presence tracker's values). */
export type Presence = 'offline' | 'available' | 'ringing' | 'busy' | string;

export interface DirectoryExtension {
  number: string;
  presence: Presence;
  since: string;
}

export interface DirectoryAgent {
  status: 'available' | 'break' | 'offline' | 'logged_out' | string;
  state: 'idle' | 'offered' | 'busy' | 'wrap_up' | 'rona' | string;
  since: string;
  seconds_in_state: number;
  queues: string[];
  /** transferable: a blind transfer may go to this agent now (available and idle). */
  transferable: boolean;
}

export interface DirectoryUser {
  id: number;
  username: string;
  display_name: string;
  role: string;
  extensions: DirectoryExtension[];
  agent?: DirectoryAgent;
}

export interface DirectoryQueue {
  number: string;
  name: string;
  waiting: number;
  agents_available: number;
  agents_logged_in: number;
}

export interface Directory {
  users: DirectoryUser[];
  queues: DirectoryQueue[];
}

/** directory is the last directory read, kept live; null until loaded. */
export const directory = signal<Directory | null>(null);
/** directoryError says why the last load failed ('' when it worked). */
export const directoryError = signal('');
/** directoryLoading is true while a load is under way (the refresh buttons spin). */
export const directoryLoading = signal(false);

let wanted = false;
let inflight: Promise<void> | null = null;

/** refreshDirectory (re)reads the directory; concurrent calls share one request. */
export function refreshDirectory(): Promise<void> {
  wanted = true;
  if (inflight) return inflight;
  directoryLoading.value = true;
  inflight = (async () => {
    try {
      const d = await get<Directory>('/api/directory');
      directory.value = { users: d.users ?? [], queues: d.queues ?? [] };
      directoryError.value = '';
      // Events that came while the answer was on its way are applied on
      // top; each is applied only when newer than what the answer says.
      if (pendingPresence.length > 0 || pendingQueues.length > 0) schedule();
    } catch (e) {
      directoryError.value = describe(e);
    } finally {
      directoryLoading.value = false;
      inflight = null;
    }
  })();
  return inflight;
}

/** useDirectory loads the directory once, for the first component that needs it. */
export function ensureDirectory() {
  if (!wanted) void refreshDirectory();
}

// presence_changed carries one extension's full presence and its owner's
// agent state. Updates of one frame are applied together: the feed
// delivers bursts, the lists re-render once.
interface PresenceView {
  extension: string;
  user_id?: number;
  presence: Presence;
  agent_status?: string;
  agent_state?: string;
  since: string;
  agent_since?: string;
}
let pendingPresence: PresenceView[] = [];
let pendingQueues: any[] = [];
let applyScheduled = false;

/** older: instant a is before b (both ISO; a missing one is not older). */
const older = (a: string | undefined, b: string | undefined) => !!a && !!b && Date.parse(a) < Date.parse(b);

function schedule() {
  if (applyScheduled) return;
  applyScheduled = true;
  queueMicrotask(applyPending);
}

function applyPending() {
  applyScheduled = false;
  // While a load is under way the events wait: the answer replaces the
  // lists and would undo them.
  if (inflight) return;
  const d = directory.value;
  const ps = pendingPresence;
  const qs = pendingQueues;
  pendingPresence = [];
  pendingQueues = [];
  if (!d) return;
  let users = d.users;
  if (ps.length > 0) {
    const byExt = new Map<string, PresenceView>();
    for (const p of ps) byExt.set(p.extension, p);
    users = d.users.map((u) => {
      if (!u.extensions.some((x) => byExt.has(x.number))) return u;
      let agent = u.agent;
      const extensions = u.extensions.map((x) => {
        const p = byExt.get(x.number);
        if (!p) return x;
        if (agent && p.agent_status && p.agent_state) {
          agent = {
            ...agent,
            status: p.agent_status,
            state: p.agent_state,
            since: p.agent_since ?? agent.since,
            transferable: p.agent_status === 'available' && p.agent_state === 'idle',
          };
        }
        return older(p.since, x.since) ? x : { ...x, presence: p.presence, since: p.since };
      });
      return { ...u, extensions, agent };
    });
  }
  let queues = d.queues;
  if (qs.length > 0) {
    const byNum = new Map<string, any>();
    for (const q of qs) byNum.set(q.queue, q);
    queues = d.queues.map((q) => {
      const s = byNum.get(q.number);
      return s
        ? { ...q, waiting: s.waiting ?? q.waiting, agents_available: s.agents_available ?? q.agents_available, agents_logged_in: s.agents_logged_in ?? q.agents_logged_in }
        : q;
    });
  }
  directory.value = { users, queues };
}

onEvent('presence_changed', (e) => {
  if (!wanted || !e.data?.extension) return;
  pendingPresence.push(e.data as PresenceView);
  schedule();
});
onEvent('queue_stats_updated', (e) => {
  if (!wanted || !e.data?.queue) return;
  pendingQueues.push(e.data);
  schedule();
});
onSnapshot(() => {
  if (wanted) void refreshDirectory();
});

/** userPresence is a user's presence over all their extensions: ringing, then busy, then available. */
export function userPresence(u: DirectoryUser): Presence {
  const ps = u.extensions.map((x) => x.presence);
  for (const p of ['ringing', 'busy', 'available']) if (ps.includes(p)) return p;
  return 'offline';
}

export const presenceText: Record<string, string> = {
  available: 'Available',
  ringing: 'Ringing',
  busy: 'Busy',
  offline: 'Offline',
};

/** agentText describes an agent's ACD status and state for a person. */
export function agentText(a: DirectoryAgent): string {
  switch (a.state) {
    case 'wrap_up':
      return 'Wrap-up';
    case 'rona':
      return 'RONA';
    case 'offered':
      return 'Offered a call';
    case 'busy':
      return 'On a call';
  }
  switch (a.status) {
    case 'available':
      return 'Available';
    case 'break':
      return 'Break';
    case 'offline':
      return 'Working offline';
    case 'logged_out':
      return 'Logged out';
  }
  return a.status;
}

/** availability is the colour class of a user in a transfer list: the agent state when an agent, else presence. */
export function availability(u: DirectoryUser): string {
  const a = u.agent;
  if (!a) return userPresence(u);
  if (a.state === 'wrap_up') return 'wrap_up';
  if (a.state === 'busy' || a.state === 'offered' || a.state === 'rona') return a.state === 'offered' ? 'ringing' : 'busy';
  if (a.status === 'available') return userPresence(u) === 'offline' ? 'offline' : userPresence(u);
  return a.status; // break, offline, logged_out
}

// Favourites (PUT /api/me/favourites replaces the whole list) and recents.

export interface Favourite {
  kind: 'user' | 'queue' | 'number' | string;
  target: string;
  label: string;
}
export interface Recent {
  kind: 'user' | 'queue' | 'number' | string;
  target: string;
  action: string;
  used_at: string;
}

export const favourites = signal<Favourite[] | null>(null);
export const recents = signal<Recent[]>([]);

/** loadFavourites reads the user's favourites and recents. */
export async function loadFavourites(): Promise<void> {
  const [f, r] = await Promise.all([
    get<{ favourites: Favourite[] }>('/api/me/favourites').catch(() => ({ favourites: [] as Favourite[] })),
    get<{ recents: Recent[] }>('/api/me/recents').catch(() => ({ recents: [] as Recent[] })),
  ]);
  favourites.value = f.favourites ?? [];
  recents.value = r.recents ?? [];
}

export const isFavourite = (kind: string, target: string) => (favourites.value ?? []).some((f) => f.kind === kind && f.target === target);

/** toggleFavourite adds or removes one favourite and saves the list; throws the server's refusal. */
export async function toggleFavourite(kind: string, target: string, label = ''): Promise<void> {
  const cur = favourites.value ?? [];
  const next = isFavourite(kind, target) ? cur.filter((f) => !(f.kind === kind && f.target === target)) : [...cur, { kind, target, label }];
  const r = await put<{ favourites: Favourite[] }>('/api/me/favourites', { favourites: next });
  favourites.value = r.favourites ?? next;
}

/** userByID and queueByNumber look up directory entries (favourites and recents name them). */
export function userByID(id: string | number): DirectoryUser | undefined {
  const n = Number(id);
  return directory.value?.users.find((u) => u.id === n);
}
export function queueByNumber(n: string): DirectoryQueue | undefined {
  return directory.value?.queues.find((q) => q.number === n);
}

/** userByExtension finds the owner of an extension. */
export function userByExtension(ext: string): DirectoryUser | undefined {
  return directory.value?.users.find((u) => u.extensions.some((x) => x.number === ext));
}
