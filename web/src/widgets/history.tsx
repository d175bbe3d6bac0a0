// Interaction history (SPEC D6): the calls that ended, newest first, from
// GET /api/interactions — time, direction, the other party, queue, wait and
// talk time, wrap-up code and recordings — with click-to-call on the other
// party's number (edited before dialling). The widget shows the user's own
// calls; the #/history page (pages/history.tsx) adds filters and CSV.
//
// Freshness: a call of mine ending, or my wrap-up ending (the code lands on
// the call's record then), marks the history stale; one throttled timer
// re-reads every history on screen. CDRs are written behind a queue, so the
// re-read waits a moment after the event.

import { effect, signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { callOf, duration, onEvent, onSnapshot } from '../live';
import { isMine, myCalls } from '../calls';
import { agent, me, myExtensions, notify } from '../session';
import { Modal } from '../components/modal';
import { overlays } from '../pages/registry';
import { register, type WidgetProps } from './registry';
import './history.css';

/** Interaction is one row of GET /api/interactions. */
export interface Interaction {
  call_id: string;
  direction: 'inbound' | 'outbound' | 'internal' | string;
  from: string;
  from_name?: string;
  to: string;
  target: string;
  queue?: string;
  answered_by?: string;
  started_at: string;
  answered_at?: string;
  ended_at: string;
  wait_s: number;
  talk_s: number;
  disposition: string;
  hangup_by: string;
  reason?: string;
  wrapup_code?: string;
  /** the number to call back (server-side, newer servers) */
  other_party?: string;
  recordings: { id: string; started_at: string; duration_ms: number; audio_url: string }[];
}

// ---- Staleness: one throttled re-read for every history on screen ----

/** stale counts the reasons to re-read; each history re-reads when it changes. */
export const stale = signal(0);
const settleMs = 1200; // the CDR writer's queue drains within this, usually
const minGapMs = 3000;
let lastBump = 0;
let bumpTimer: number | undefined;

/** markStale re-reads the histories soon: at most once every few seconds, however many calls end. */
export function markStale() {
  if (bumpTimer !== undefined) return;
  const wait = Math.max(settleMs, lastBump + minGapMs - Date.now());
  bumpTimer = window.setTimeout(() => {
    bumpTimer = undefined;
    lastBump = Date.now();
    stale.value++;
  }, wait);
}

// The calls that were mine while live: when one ends, its final event may
// no longer list me (I hung up and left), so remember them.
const mineSeen = new Set<string>();
effect(() => {
  for (const c of myCalls.value) mineSeen.add(c.id);
});
onEvent('call_ended', (e) => {
  const c = callOf(e);
  const id: string | undefined = c?.id ?? e.data?.id ?? e.data?.call?.id;
  const mine = (id && mineSeen.has(id)) || (c && isMine(c, myExtensions.value));
  if (id) mineSeen.delete(id);
  if (mine) markStale();
});
onSnapshot(() => markStale());
// My wrap-up ending: the chosen code is on the call's record now.
let lastState = '';
effect(() => {
  const st = agent.value?.state ?? '';
  if (lastState === 'wrap_up' && st !== 'wrap_up') markStale();
  lastState = st;
});

/** useInteractions reads the history for query (URLSearchParams text) and again whenever it is stale. */
export function useInteractions(query: string) {
  const [rows, setRows] = useState<Interaction[] | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const tick = stale.value;
  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    get<{ interactions: Interaction[] }>(`/api/interactions?${query}`).then(
      (d) => {
        if (cancelled) return;
        setRows(d.interactions ?? []);
        setError('');
        setLoading(false);
      },
      (e) => {
        if (cancelled) return;
        setError(e instanceof ApiError ? e.message : String(e));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [query, tick]);
  return { rows, error, loading };
}

// ---- Reading a row ----

/** otherParty is who the call was with, seen from the user (or the customer, for others' calls). */
export function otherParty(i: Interaction, mine: Set<string>): { number: string; name?: string } {
  // The server says whom to call back (the caller, or what the user dialled).
  const n = i.other_party || (mine.has(i.from) || i.direction === 'outbound' ? i.to : i.from);
  return { number: n, name: n === i.from ? i.from_name : undefined };
}

/** wrapupLabel is the label of a wrap-up code from the codes /api/me lists for the user's queues. */
function wrapupLabel(i: Interaction): string {
  const codes = (me.value as any)?.wrapup_codes?.[i.queue ?? ''] as { code: string; label: string }[] | undefined;
  return codes?.find((c) => c.code === i.wrapup_code)?.label ?? '';
}

const dirIcon: Record<string, string> = { inbound: '↙', outbound: '↗', internal: '↔' };

function when(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

/** HistoryTable shows interactions; compact drops the less needed columns (the widget). */
export function HistoryTable({ rows, compact }: { rows: Interaction[]; compact?: boolean }) {
  const mine = myExtensions.value;
  if (rows.length === 0) return <p class="empty">No calls yet.</p>;
  return (
    <table class={`history-table ${compact ? 'compact' : ''}`} data-testid="history-table">
      <thead>
        <tr>
          <th>Time</th>
          <th title="Direction" />
          <th>Other party</th>
          <th>Queue</th>
          {!compact && <th>Agent</th>}
          <th class="num">Wait</th>
          <th class="num">Talk</th>
          <th>Wrap-up</th>
          {!compact && <th>Result</th>}
          <th>Recording</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((i) => {
          const o = otherParty(i, mine);
          const label = i.wrapup_code ? wrapupLabel(i) : '';
          return (
            <tr key={i.call_id} data-call-id={i.call_id} data-testid="history-row" class={i.answered_at ? '' : 'unanswered'}>
              <td class="when" title={new Date(i.started_at).toLocaleString()}>
                {when(i.started_at)}
              </td>
              <td class={`dir dir-${i.direction}`} title={i.direction}>
                {dirIcon[i.direction] ?? ''}
              </td>
              <td class="other">
                <button class="link number" onClick={() => openDial(o.number)} title={`Call ${o.number}`} data-testid="history-call">
                  {o.number}
                </button>
                {o.name && o.name !== o.number && <span class="muted name"> {o.name}</span>}
              </td>
              <td>{i.queue ?? ''}</td>
              {!compact && <td>{i.answered_by ?? ''}</td>}
              <td class="num">{duration(i.wait_s)}</td>
              <td class="num">{i.answered_at ? duration(i.talk_s) : ''}</td>
              <td data-testid="history-wrapup" title={label}>
                {i.wrapup_code ?? ''}
                {label && !compact && <span class="muted"> · {label}</span>}
              </td>
              {!compact && (
                <td>
                  <span class={`badge disp-${i.disposition}`}>{i.disposition}</span>
                </td>
              )}
              <td>
                <div class="recs">
                  {i.recordings.map((r) => (
                    <Recording key={r.id} r={r} />
                  ))}
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Recording is a play button that becomes an audio player (nothing loads before the click). */
function Recording({ r }: { r: Interaction['recordings'][number] }) {
  const [open, setOpen] = useState(false);
  if (open) return <audio controls autoPlay preload="none" src={r.audio_url} data-testid="recording-audio" />;
  return (
    <button class="small" onClick={() => setOpen(true)} title="Play the recording" data-testid="recording-play">
      ▶ {duration(r.duration_ms / 1000)}
    </button>
  );
}

// ---- Click-to-call with the number edited first ----

const dialRequest = signal<{ number: string; seq: number } | null>(null);
let dialSeq = 0;

/** openDial shows the call box with number, to edit before dialling. */
export function openDial(number: string) {
  dialRequest.value = { number, seq: ++dialSeq };
}

function DialDialog() {
  const r = dialRequest.value;
  // Keyed by request: each opening starts from its own number.
  return r ? <DialBox key={r.seq} number={r.number} /> : null;
}

function DialBox({ number }: { number: string }) {
  const [value, setValue] = useState(number);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const close = () => (dialRequest.value = null);
  const dial = async () => {
    const target = value.trim();
    if (!target) return;
    setBusy(true);
    setError('');
    try {
      await post('/api/calls', { target });
      notify(`Calling ${target}: your phone rings first.`, 'info');
      close();
    } catch (e) {
      setError(e instanceof ApiError ? e.message || e.code : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title="Call" onClose={close}>
      <form
        class="dial-form"
        onSubmit={(e) => {
          e.preventDefault();
          void dial();
        }}
      >
        <label>
          Number
          <input value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} autoFocus data-testid="dial-number" />
        </label>
        {error && (
          <div class="form-error" role="alert" data-testid="dial-error">
            {error}
          </div>
        )}
        <p class="hint">Your own phone rings first; when you answer, the number is dialled.</p>
        <div class="dialog-buttons">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy || !value.trim()} data-testid="dial-submit">
            Call
          </button>
        </div>
      </form>
    </Modal>
  );
}

overlays.add(DialDialog);

// ---- The widget ----

interface HistoryConfig {
  limit: number;
}

function HistoryWidget({ config }: WidgetProps<HistoryConfig>) {
  const id = me.value?.user.id;
  const q = new URLSearchParams({ limit: String(config.limit || 25) });
  // Supervisors and admins would see others' calls too: the widget is "my calls".
  if (id) q.set('user', String(id));
  const { rows, error } = useInteractions(q.toString());
  if (error) return <p class="error">{error}</p>;
  if (!rows) return <p class="empty">Loading…</p>;
  return (
    <div class="history-widget">
      <HistoryTable rows={rows} compact />
      <a class="more" href="#/history">
        Full history…
      </a>
    </div>
  );
}

function HistoryConfigure({ config, done }: { config: HistoryConfig; done: (c: HistoryConfig | null) => void }) {
  const [limit, setLimit] = useState(String(config.limit || 25));
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        done({ limit: Math.min(500, Math.max(5, Number(limit) || 25)) });
      }}
    >
      <label>
        Calls shown
        <select value={limit} onChange={(e) => setLimit((e.target as HTMLSelectElement).value)}>
          {['10', '25', '50', '100'].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <div class="dialog-buttons">
        <button type="button" onClick={() => done(null)}>
          Cancel
        </button>
        <button class="primary" type="submit">
          OK
        </button>
      </div>
    </form>
  );
}

register<HistoryConfig>({
  type: 'history',
  title: 'Call history',
  description: 'Your recent calls with wrap-up codes and recordings; call a number back',
  size: { w: 7, h: 6, minW: 4, minH: 3 },
  defaultConfig: () => ({ limit: 25 }),
  Component: HistoryWidget,
  Configure: HistoryConfigure,
});
