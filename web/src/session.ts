// Who is logged in, their agent state and the codes they choose from. One
// owner: these signals change only through the functions here, which call
// the API and then re-read what the server says.

import { signal, computed } from '@preact/signals';
import { get, post, put, ApiError, setUnauthenticatedHandler } from './api';
import * as live from './live';
import type { Agent, Me, ReasonCode } from './types';

export const me = signal<Me | null>(null);
/** checked turns true once the first /api/me answered (logged in or not). */
export const checked = signal(false);
export const agent = signal<Agent | null>(null);
export const reasonCodes = signal<ReasonCode[]>([]);

export const role = computed(() => me.value?.user.role ?? '');
export const isAdmin = computed(() => role.value === 'admin');
export const isSupervisor = computed(() => role.value === 'supervisor' || role.value === 'admin');
export const myExtensions = computed(() => new Set(me.value?.extensions ?? []));

/** Notice is a message shown at the bottom of the screen. */
export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}
export const notices = signal<Notice[]>([]);
let noticeID = 0;

/** notify shows a message for a few seconds. */
export function notify(text: string, kind: Notice['kind'] = 'error') {
  const n = { id: ++noticeID, kind, text };
  notices.value = [...notices.value, n];
  setTimeout(() => (notices.value = notices.value.filter((x) => x !== n)), kind === 'error' ? 8000 : 4000);
}

/** act runs an API action and shows its refusal to the user; true when it worked. */
export async function act(what: string, f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    const msg = e instanceof ApiError ? e.message || e.code : String(e);
    notify(`${what}: ${msg}`);
    return false;
  }
}

setUnauthenticatedHandler(() => {
  if (me.value) {
    me.value = null;
    live.stop();
    notify('Your session has ended; please log in again.', 'info');
  }
});

/** load reads the session (after a page load or login). */
export async function load() {
  try {
    me.value = await get<Me>('/api/me');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) notify('Loading your profile: ' + String((e as Error).message));
    me.value = null;
  }
  checked.value = true;
  if (me.value) {
    live.start(['org', 'presence']);
    await Promise.all([refreshAgent(), loadReasonCodes()]);
  }
}

export async function login(username: string, password: string) {
  await post('/api/login', { username, password });
  await load();
}

export async function logout() {
  try {
    await post('/api/logout');
  } catch {
    /* the session may already be gone */
  }
  live.stop();
  me.value = null;
  agent.value = null;
}

/** refreshAgent re-reads the user's agent state (404: not an agent). */
export async function refreshAgent() {
  try {
    agent.value = await get<Agent>('/api/me/agent');
  } catch {
    agent.value = null;
  }
}

async function loadReasonCodes() {
  try {
    const r = await get<{ reason_codes: ReasonCode[] }>('/api/reason-codes');
    reasonCodes.value = r.reason_codes ?? [];
  } catch {
    reasonCodes.value = [];
  }
}

/** setStatus changes the user's own agent status (SPEC A1/A2). */
export async function setStatus(status: string, reasonCode?: string) {
  const ok = await act('Change status', () => put('/api/me/agent', { status, reason_code: reasonCode ?? '' }));
  if (ok) await refreshAgent();
  return ok;
}

// The agent's state changes on the server (offer, busy, wrap-up, RONA): keep
// the header in step with the feed.
live.onEvent('agent_state_changed', (e) => {
  const a = agent.value;
  if (a && e.data && (e.data.id === a.id || e.data.agent_id === a.id)) {
    if (e.data.status && e.data.state) agent.value = { ...a, ...e.data };
    else void refreshAgent();
  }
});
live.onSnapshot(() => void refreshAgent());
