// Reading a call as a person at the console sees it: who is talking, who
// rings, which route it took, and which of it is "mine".

import { computed, signal } from '@preact/signals';
import { calls, onEvent, onSnapshot } from './live';
import { myExtensions } from './session';
import type { Call, PartyInfo } from './types';

/**
 * offeredTo remembers which agent extensions a queue call is being offered
 * to (call_offered; ring-all offers to several at once) until it is
 * answered, returned to the queue or ends.
 */
export const offeredTo = signal<Map<string, string[]>>(new Map());
onEvent('call_offered', (e) => {
  const id = e.data?.call?.id;
  const ext = e.data?.agent;
  if (!id || !ext) return;
  const cur = offeredTo.value.get(id) ?? [];
  if (!cur.includes(String(ext))) offeredTo.value = new Map(offeredTo.value).set(id, [...cur, String(ext)]);
});
for (const t of ['call_answered', 'call_ended', 'queue_call_returned', 'queue_call_answered', 'queue_call_abandoned', 'queue_call_overflowed']) {
  onEvent(t, (e) => {
    const id = e.data?.id ?? e.data?.call?.id;
    if (id && offeredTo.value.has(id)) {
      const m = new Map(offeredTo.value);
      m.delete(id);
      offeredTo.value = m;
    }
  });
}
onSnapshot(() => (offeredTo.value = new Map()));

/** targetExtension is the extension a call was dialled to ("extension:1002" → "1002"). */
export function targetOf(c: Call): { kind: string; id: string } {
  const [kind, id] = (c.target ?? '').split(':', 2);
  return { kind: kind || 'unknown', id: id ?? '' };
}

/** ringingAt lists the extensions a call rings at now. */
export function ringingAt(c: Call): string[] {
  if (c.state === 'answered' || c.state === 'held' || c.state === 'ended') return [];
  if (c.ringing?.length) return c.ringing;
  const o = offeredTo.value.get(c.id);
  if (o) return o;
  const t = targetOf(c);
  return t.kind === 'extension' && c.state === 'ringing' ? [t.id] : [];
}

/** displayState is the state a person reads: a call waiting in a queue is "queued" even while the ACD routes it, and "ringing" while offered. */
export function displayState(c: Call): string {
  if (c.held) return 'held';
  if (c.state === 'answered') return 'answered';
  if (ringingAt(c).length > 0) return 'ringing';
  if (targetOf(c).kind === 'queue') return 'queued';
  return c.state;
}

/** routeOf describes the route a call came through: DID, queue, extension. */
export function routeOf(c: Call): string {
  const t = targetOf(c);
  const parts: string[] = [];
  if (c.did) parts.push(`DID ${c.did}`);
  if (t.kind === 'queue') parts.push(`queue ${t.id}`);
  else if (t.kind === 'extension') parts.push(`ext ${t.id}`);
  else if (t.kind && t.kind !== 'unknown') parts.push(`${t.kind} ${t.id}`.trim());
  return parts.join(' → ');
}

/** myParty is the party of the call that is me (one of my extensions), if any. */
export function myParty(c: Call, mine: Set<string>): PartyInfo | undefined {
  return (c.parties ?? []).find((p) => p.extension && mine.has(p.extension) && p.role !== 'monitor');
}

/** isMine: the call rings at, or is talking with, one of my extensions. */
export function isMine(c: Call, mine: Set<string>): boolean {
  if (myParty(c, mine)) return true;
  if (c.from.kind === 'extension' && mine.has(c.from.number)) return true;
  return ringingAt(c).some((e) => mine.has(e));
}

/** myCalls are the user's own calls, oldest first. */
export const myCalls = computed(() => {
  const mine = myExtensions.value;
  const out: Call[] = [];
  for (const c of calls.value.values()) if (isMine(c, mine)) out.push(c);
  out.sort((a, b) => a.started_at.localeCompare(b.started_at));
  return out;
});

/** talkers are the parties who talk (not monitors), for display. */
export function talkers(c: Call): PartyInfo[] {
  return (c.parties ?? []).filter((p) => p.role !== 'monitor');
}

/** partyLabel is "Name (number)" or the number. */
export function partyLabel(p: { number: string; name?: string }): string {
  return p.name && p.name !== p.number ? `${p.name} (${p.number})` : p.number;
}

/** otherParty is who I talk to in a call: the party that is not me. */
export function otherParty(c: Call, mine: Set<string>): string {
  const me = myParty(c, mine);
  const others = talkers(c).filter((p) => p !== me);
  if (others.length > 0) return others.map(partyLabel).join(', ');
  if (c.from.kind === 'extension' && mine.has(c.from.number)) return c.to;
  return partyLabel(c.from);
}
