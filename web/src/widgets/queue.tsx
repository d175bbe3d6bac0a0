// The queue widget (SPEC C4, Q4, Q6, S1, S2): one queue's live figures,
// a drill-down into its waiting, offered and answered calls, and its
// agents with their call state, queue state and time in state. A
// supervisor of the queue (or an admin) changes an agent's queue state or
// agent status and listens, whispers or barges on an answered call; an
// agent may change their own queue state. Controls a user may not use are
// not shown; a refusal shows the server's message.
//
// Freshness: GET /api/queues/{n}/stats once, then the feed — figures from
// queue_stats_updated, calls from queue_call_*, agents from
// agent_state_changed and agent_queue_membership_changed — and a re-read
// (at most one a second) after each stats update and snapshot, because an
// agent's feed carries the figures of their queues but not every call.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { signal } from '@preact/signals';
import { register, type WidgetProps } from './registry';
import { get, put, post, del, describe } from '../api';
import { act, me, isAdmin, myExtensions, reasonCodes } from '../session';
import { calls, now, onEvent, onSnapshot, duration } from '../live';
import { partyLabel } from '../calls';
import type { BusEvent, Membership, QueueCallInfo, QueueStats } from '../types';
import './queue.css';

interface QueueConfig {
  queue: string;
  name?: string;
}

/** MemberRow is a member with the instant (ms) their current presence began. */
interface MemberRow extends Membership {
  since: number;
}

/** QueueView is what the widget shows of one queue. */
interface QueueView {
  stats: QueueStats;
  waiting: QueueCallInfo[];
  ringing: QueueCallInfo[];
  answered: QueueCallInfo[];
  members: MemberRow[];
}

/** Capacity is the Erlang C estimate the stats may carry (capacity planning). */
interface Capacity {
  window_s?: number;
  measured_calls_per_hour?: number;
  measured_handle_time_s?: number;
  measured_service_level?: number;
  measured_avg_wait_s?: number;
  target_service_level?: number;
  service_level_s?: number;
  agents_staffed?: number;
  model_erlangs?: number;
  model_agents_needed?: number;
  model_stable?: boolean;
  model_service_level?: number;
  model_avg_wait_s?: number;
  model_occupancy?: number;
}

function normalize(d: QueueStats): QueueView {
  const at = Date.now();
  return {
    stats: d,
    waiting: d.waiting_calls ?? [],
    ringing: d.ringing_calls ?? [],
    answered: d.answered_calls ?? [],
    members: (d.members ?? []).map((m) => ({ ...m, since: at - (m.seconds_in_state ?? 0) * 1000 })),
  };
}

const enc = encodeURIComponent;

// ---- Rights, as the server grants them (internal/api/acd.go) ----

/** supervisedProbe remembers, per queue, whether GET …/supervisors answered (only managers may read it). */
const supervisedProbe = signal<Map<string, boolean>>(new Map());
const probing = new Set<string>();

/** managesQueue: an admin or a supervisor of the queue (changes agents' states, sees their controls). */
function managesQueue(q: string): boolean {
  if (isAdmin.value) return true;
  const m = me.value as any;
  if (Array.isArray(m?.supervised_queues)) return m.supervised_queues.includes(q);
  // Older servers: ask the queue; only its managers may read its supervisors.
  const known = supervisedProbe.value.get(q);
  if (known !== undefined) return known;
  if (!probing.has(q) && (me.value?.user.role === 'supervisor' || me.value?.user.role === 'admin')) {
    probing.add(q);
    get(`/api/queues/${enc(q)}/supervisors`).then(
      () => (supervisedProbe.value = new Map(supervisedProbe.value).set(q, true)),
      () => (supervisedProbe.value = new Map(supervisedProbe.value).set(q, false)),
    );
  }
  return false;
}

/** mayMonitor: listen / whisper / barge needs supervisor rights on the queue (S1). */
function mayMonitor(q: string): boolean {
  if (isAdmin.value) return true;
  const perms = me.value?.permissions;
  if (Array.isArray(perms) && !perms.includes('calls.monitor')) return false;
  return managesQueue(q);
}

// ---- Monitoring (S1) ----

type MonitorMode = 'listen' | 'whisper' | 'barge';
const modes: { mode: MonitorMode; label: string; hint: string }[] = [
  { mode: 'listen', label: 'Listen', hint: 'Listen without the agent or caller hearing you' },
  { mode: 'whisper', label: 'Whisper', hint: 'The agent hears you, the caller does not' },
  { mode: 'barge', label: 'Barge', hint: 'Both the agent and the caller hear you' },
];

/** pendingMonitor: monitors started here whose party has not shown up in the call yet (the phone rings). */
const pendingMonitor = signal<Map<string, MonitorMode>>(new Map());
onEvent('call_ended', (e) => {
  const id = e.data?.id ?? e.data?.call?.id;
  if (id && pendingMonitor.value.has(id)) {
    const m = new Map(pendingMonitor.value);
    m.delete(id);
    pendingMonitor.value = m;
  }
});

/** myMonitorMode is how I monitor call id now, if I do. */
function myMonitorMode(id: string): MonitorMode | undefined {
  const c = calls.value.get(id);
  const mine = myExtensions.value;
  const p = c?.parties?.find((x) => x.role === 'monitor' && x.extension && mine.has(x.extension));
  if (p) return (p.mode as MonitorMode) || 'listen';
  return pendingMonitor.value.get(id);
}

function setPending(id: string, mode: MonitorMode | undefined) {
  const m = new Map(pendingMonitor.value);
  if (mode) m.set(id, mode);
  else m.delete(id);
  pendingMonitor.value = m;
}

async function monitor(id: string, mode: MonitorMode) {
  const cur = myMonitorMode(id);
  const ok = cur
    ? await act('Monitor', () => put(`/api/calls/${enc(id)}/monitor`, { mode }))
    : await act('Monitor', () => post(`/api/calls/${enc(id)}/monitor`, { mode }));
  if (ok) setPending(id, mode);
}

async function stopMonitor(id: string) {
  if (await act('Stop monitoring', () => del(`/api/calls/${enc(id)}/monitor`))) setPending(id, undefined);
}

function MonitorButtons({ callId }: { callId: string }) {
  const cur = myMonitorMode(callId);
  return (
    <span class="qw-monitor" data-testid="monitor-controls" data-monitor-mode={cur ?? ''}>
      {modes.map((m) => (
        <button
          key={m.mode}
          class={cur === m.mode ? 'primary' : ''}
          title={m.hint}
          aria-pressed={cur === m.mode}
          onClick={(e) => {
            e.stopPropagation();
            if (cur !== m.mode) void monitor(callId, m.mode);
          }}
          data-testid={`monitor-${m.mode}`}
        >
          {m.label}
        </button>
      ))}
      {cur && (
        <button
          class="danger"
          onClick={(e) => {
            e.stopPropagation();
            void stopMonitor(callId);
          }}
          data-testid="monitor-stop"
        >
          Stop
        </button>
      )}
    </span>
  );
}

// ---- Small live leaves: only these re-render every second ----

/** Since shows the time from ms to now, ticking. */
function Since({ at }: { at: number | string | undefined }) {
  const t = typeof at === 'string' ? Date.parse(at) : at;
  if (t === undefined || Number.isNaN(t)) return <span class="timer">—</span>;
  return <span class="timer">{duration(Math.max(0, (now.value - t) / 1000))}</span>;
}

const presenceText: Record<string, string> = {
  available: 'Available',
  break: 'Break',
  idle: 'Break',
  offline: 'Working offline',
  logged_out: 'Logged out',
  offered: 'Ringing',
  busy: 'Busy',
  wrap_up: 'Wrap-up',
  rona: 'RONA',
};

const memberStateText: Record<string, string> = {
  logged_in: 'Logged in',
  paused: 'Paused',
  logged_out: 'Logged out',
};

// ---- The widget ----

type Drill = 'waiting' | 'offered' | 'answered' | null;

function useQueue(number: string) {
  const [view, setView] = useState<QueueView | null>(null);
  const [error, setError] = useState('');
  const viewRef = useRef<QueueView | null>(null);
  viewRef.current = view;

  useEffect(() => {
    if (!number) return;
    let alive = true;
    let inflight = false;
    let again = false;
    let timer: number | undefined;
    let last = 0;
    const res = `queue:${number}`;
    const update = (f: (v: QueueView) => QueueView) => {
      const v = viewRef.current;
      if (v) {
        const n = f(v);
        viewRef.current = n;
        setView(n);
      }
    };
    const fetchNow = async () => {
      inflight = true;
      last = Date.now();
      try {
        const d = await get<QueueStats>(`/api/queues/${enc(number)}/stats`);
        if (alive) {
          const v = normalize(d);
          viewRef.current = v;
          setView(v);
          setError('');
        }
      } catch (e) {
        if (alive) setError(describe(e));
      }
      inflight = false;
      if (again && alive) {
        again = false;
        schedule();
      }
    };
    // schedule re-reads the queue soon: at most one request in flight and
    // one a second, however many events ask.
    const schedule = () => {
      if (!alive) return;
      if (inflight) {
        again = true;
        return;
      }
      if (timer !== undefined) return;
      timer = window.setTimeout(
        () => {
          timer = undefined;
          void fetchNow();
        },
        Math.max(50, last + 1000 - Date.now()),
      );
    };
    void fetchNow();

    const onCall = (e: BusEvent) => {
      if (e.resource !== res || !e.data?.id) return;
      const c = e.data as QueueCallInfo;
      update((v) => {
        const drop = (l: QueueCallInfo[]) => l.filter((x) => x.id !== c.id);
        const n = { ...v, waiting: drop(v.waiting), ringing: drop(v.ringing), answered: drop(v.answered) };
        if (c.state === 'waiting') n.waiting = [...n.waiting, c].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
        else if (c.state === 'ringing') n.ringing = [...n.ringing, c];
        else if (c.state === 'answered') n.answered = [...n.answered, c];
        return n;
      });
    };
    const offs = [
      onSnapshot(schedule),
      onEvent('queue_stats_updated', (e) => {
        if (e.resource !== res || !e.data) return;
        update((v) => ({ ...v, stats: { ...v.stats, ...e.data } }));
        schedule();
      }),
      onEvent('*', (e) => {
        if (e.type.startsWith('queue_call') || e.type.startsWith('queue_callback')) onCall(e);
      }),
      onEvent('agent_state_changed', (e) => {
        const a = e.data;
        if (!a?.id || !viewRef.current?.members.some((m) => m.agent_id === a.id)) return;
        update((v) => ({
          ...v,
          members: v.members.map((m) => {
            if (m.agent_id !== a.id) return m;
            const ms = (a.queues ?? []).find((x: Membership) => x.queue === number && x.extension === m.extension);
            return {
              ...m,
              presence: a.presence ?? m.presence,
              no_device: !!a.no_device,
              since: a.presence_since ? Date.parse(a.presence_since) : m.since,
              state: ms?.state ?? m.state,
              call_id: a.call?.id,
            };
          }),
        }));
      }),
      onEvent('agent_queue_membership_changed', (e) => {
        if (e.resource !== res || !e.data) return;
        const d = e.data as Membership;
        if (!viewRef.current?.members.some((m) => m.extension === d.extension)) {
          schedule();
          return;
        }
        update((v) => ({ ...v, members: v.members.map((m) => (m.extension === d.extension ? { ...m, state: d.state, penalty: d.penalty } : m)) }));
      }),
    ];
    return () => {
      alive = false;
      clearTimeout(timer);
      offs.forEach((f) => f());
    };
  }, [number]);
  return { view, error };
}

function fmtSeconds(s: number | undefined): string {
  if (s === undefined || s === null || Number.isNaN(s)) return '—';
  return duration(s);
}

function pct(x: number | undefined | null): string {
  return x === undefined || x === null ? '—' : `${Math.round(x * 10) / 10}%`;
}

function Figure(props: { id: string; label: string; value: ComponentChildren; sub?: ComponentChildren; onClick?: () => void; active?: boolean; warn?: boolean; wide?: boolean }) {
  const Tag = props.onClick ? 'button' : 'div';
  return (
    <Tag
      class={`qw-fig ${props.wide ? 'qw-fig-wide' : ''} ${props.onClick ? 'qw-fig-click' : ''} ${props.active ? 'active' : ''} ${props.warn ? 'warn' : ''}`}
      title={props.label}
      onClick={props.onClick}
      data-testid={`stat-${props.id}`}
      aria-pressed={props.onClick ? !!props.active : undefined}
    >
      <span class="qw-fig-value" data-testid={`stat-${props.id}-value`}>
        {props.value}
      </span>
      <span class="qw-fig-label">{props.label}</span>
      {props.sub && <span class="qw-fig-sub">{props.sub}</span>}
    </Tag>
  );
}

function Figures({ v, drill, setDrill }: { v: QueueView; drill: Drill; setDrill: (d: Drill) => void }) {
  const s = v.stats;
  const toggle = (d: Drill) => () => setDrill(drill === d ? null : d);
  return (
    <div class="qw-figs">
      <Figure
        id="waiting"
        label="Waiting"
        value={s.waiting}
        sub={s.oldest_waiting_since ? <>longest <Since at={s.oldest_waiting_since as string} /></> : undefined}
        onClick={toggle('waiting')}
        active={drill === 'waiting'}
        warn={s.waiting > 0 && s.agents_available === 0}
      />
      <Figure id="calls-per-hour" label="Calls / h" value={s.entered_last_hour} onClick={toggle('offered')} active={drill === 'offered'} sub={`${s.ringing} offered now`} />
      <Figure id="handled-per-hour" label="Handled / h" value={s.answered_last_hour} sub={s.abandoned_last_hour ? `${s.abandoned_last_hour} abandoned` : undefined} onClick={toggle('answered')} active={drill === 'answered'} />
      <Figure id="active" label="Active" value={s.active} onClick={toggle('answered')} active={drill === 'answered'} />
      <Figure id="avg-wait" label="Avg wait" value={fmtSeconds(s.avg_wait_s)} />
      <Figure
        id="longest-call"
        label="Longest call"
        value={s.oldest_call_since ? <Since at={s.oldest_call_since as string} /> : s.active > 0 ? fmtSeconds(s.longest_call_s) : '—'}
      />
      <Figure
        id="agents"
        wide
        label="Agents in / paused / out"
        value={
          <>
            <span data-testid="agents-logged-in">{s.agents_logged_in}</span> / <span data-testid="agents-paused">{s.agents_paused}</span> /{' '}
            <span data-testid="agents-logged-out">{s.agents_logged_out}</span>
          </>
        }
        sub={`${s.agents_available} available`}
      />
      <Figure id="service-level" label={`SL ≤ ${s.service_level_s}s`} value={pct(s.service_level as number | undefined)} />
    </div>
  );
}

/** CapacityRow shows the Erlang C estimate beside the measured figures, when the server sends one. */
function CapacityRow({ c }: { c: Capacity }) {
  const needed = c.model_agents_needed;
  const staffed = c.agents_staffed ?? 0;
  const short = needed !== undefined && staffed < needed;
  return (
    <div class={`qw-capacity ${short ? 'short' : ''}`} data-testid="capacity">
      <span title="Erlang C, from the last hour's arrivals and handle time">
        <strong>Forecast</strong>
      </span>
      {c.model_erlangs === undefined ? (
        <span class="muted">no handled calls yet to estimate from</span>
      ) : (
        <>
          <span data-testid="capacity-needed">
            agents needed <strong>{needed ?? '—'}</strong> (staffed {staffed})
          </span>
          {c.model_stable === false ? (
            <span class="error">too few agents: the queue keeps growing</span>
          ) : (
            <>
              <span>
                SL predicted {pct(c.model_service_level)} · measured {pct(c.measured_service_level)}
                {c.target_service_level ? ` · target ${c.target_service_level}%` : ''}
              </span>
              <span>
                wait predicted {fmtSeconds(c.model_avg_wait_s)} · measured {fmtSeconds(c.measured_avg_wait_s)}
              </span>
              {c.model_occupancy !== undefined && <span>occupancy {pct(c.model_occupancy)}</span>}
            </>
          )}
        </>
      )}
    </div>
  );
}

function agentNames(c: QueueCallInfo): string {
  return (c.agents ?? []).map((a) => a.name || a.extension || String(a.id ?? '')).join(', ');
}

function caller(c: QueueCallInfo): string {
  return partyLabel({ number: c.caller_number, name: c.caller_name });
}

function DrillDown({ v, drill, queue }: { v: QueueView; drill: Drill; queue: string }) {
  const monitorOK = mayMonitor(queue);
  return (
    <div class="qw-drill" data-testid="drill-down">
      <section class={drill === 'waiting' ? 'focus' : ''} data-testid="drill-waiting">
        <h3>Waiting ({v.waiting.length})</h3>
        {v.waiting.length === 0 ? (
          <p class="empty">Nobody waits.</p>
        ) : (
          <ul>
            {v.waiting.map((c) => (
              <li key={c.id} data-call-id={c.id} data-testid="queue-call" data-state="waiting">
                <span class="qw-pos">{c.position ?? ''}</span>
                <span class="qw-who">{caller(c)}</span>
                {(c as { callback?: boolean }).callback && <span class="badge">callback</span>}
                <Since at={c.entered_at} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class={drill === 'offered' ? 'focus' : ''} data-testid="drill-offered">
        <h3>Offered ({v.ringing.length})</h3>
        {v.ringing.length === 0 ? (
          <p class="empty">No call rings.</p>
        ) : (
          <ul>
            {v.ringing.map((c) => (
              <li key={c.id} data-call-id={c.id} data-testid="queue-call" data-state="ringing">
                <span class="qw-who">{caller(c)}</span>
                <span class="ringing-at">🔔 {agentNames(c)}</span>
                <Since at={c.offered_at ?? c.entered_at} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class={drill === 'answered' ? 'focus' : ''} data-testid="drill-answered">
        <h3>Answered ({v.answered.length})</h3>
        {v.answered.length === 0 ? (
          <p class="empty">No call in progress.</p>
        ) : (
          <ul>
            {v.answered.map((c) => (
              <li key={c.id} data-call-id={c.id} data-testid="queue-call" data-state="answered">
                <span class="qw-who">{caller(c)}</span>
                <span>↔ {agentNames(c)}</span>
                <span class="muted" title="Waited">
                  waited {fmtSeconds(c.wait_s)}
                </span>
                <Since at={c.answered_at} />
                {monitorOK && <MonitorButtons callId={c.id} />}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function AgentMenu({ m, queue, answered, close }: { m: MemberRow; queue: string; answered: QueueCallInfo | undefined; close: () => void }) {
  const manager = managesQueue(queue);
  const self = myExtensions.value.has(m.extension);
  const setQueueState = async (state: string) => {
    close();
    await act('Change queue status', () => put(`/api/queues/${enc(queue)}/members/${enc(m.extension)}`, { state }));
  };
  const setAgentStatus = async (status: string, reason_code = '') => {
    close();
    await act('Change agent status', () => put(`/api/agents/${m.agent_id}/status`, { status, reason_code }));
  };
  const breaks = reasonCodes.value.filter((r) => r.kind === 'break');
  const offline = reasonCodes.value.filter((r) => r.kind === 'offline');
  useEffect(() => {
    const h = (e: KeyboardEvent) => e.key === 'Escape' && close();
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, []);
  return (
    <div class="menu qw-menu" role="menu" data-testid="agent-menu" onClick={(e) => e.stopPropagation()}>
      {(manager || self) && (
        <>
          <small class="qw-menu-head">Queue status</small>
          {(['logged_in', 'paused', 'logged_out'] as const).map((st) => (
            <button key={st} role="menuitem" disabled={m.state === st} onClick={() => setQueueState(st)} data-testid={`member-${st}`}>
              <span class={`dot qs-${st}`} /> {memberStateText[st]}
            </button>
          ))}
        </>
      )}
      {manager && !self && (
        <>
          <small class="qw-menu-head">Agent status</small>
          <button role="menuitem" onClick={() => setAgentStatus('available')} data-testid="agent-status-available">
            <span class="dot status-available" /> Available
          </button>
          {breaks.length === 0 && (
            <button role="menuitem" onClick={() => setAgentStatus('break')} data-testid="agent-status-break">
              <span class="dot status-break" /> Break
            </button>
          )}
          {breaks.map((r) => (
            <button key={r.code} role="menuitem" onClick={() => setAgentStatus('break', r.code)} data-testid={`agent-status-break-${r.code}`}>
              <span class="dot status-break" /> Break · {r.label}
            </button>
          ))}
          {offline.map((r) => (
            <button key={r.code} role="menuitem" onClick={() => setAgentStatus('offline', r.code)}>
              <span class="dot status-offline" /> Working offline · {r.label}
            </button>
          ))}
          <button role="menuitem" onClick={() => setAgentStatus('logged_out')} data-testid="agent-status-logged_out">
            <span class="dot status-logged_out" /> Logged out
          </button>
        </>
      )}
      {answered && mayMonitor(queue) && (
        <>
          <small class="qw-menu-head">Call with {caller(answered)}</small>
          <div class="qw-menu-monitor">
            <MonitorButtons callId={answered.id} />
          </div>
        </>
      )}
    </div>
  );
}

function AgentList({ v, queue }: { v: QueueView; queue: string }) {
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    const h = () => setOpen(null);
    window.addEventListener('click', h);
    return () => window.removeEventListener('click', h);
  }, [open]);
  const manager = managesQueue(queue);
  const monitorOK = mayMonitor(queue);
  const mine = myExtensions.value;
  const byCall = new Map(v.answered.map((c) => [c.id, c]));
  if (v.members.length === 0) return <p class="empty">This queue has no agents.</p>;
  return (
    <table class="qw-agents" data-testid="queue-agents">
      <thead>
        <tr>
          <th>Agent</th>
          <th>Call state</th>
          <th>Queue</th>
          <th class="num">In state</th>
        </tr>
      </thead>
      <tbody>
        {v.members.map((m) => {
          const key = `${m.agent_id}/${m.extension}`;
          const answered = m.call_id ? byCall.get(m.call_id) : undefined;
          const clickable = manager || mine.has(m.extension) || (!!answered && monitorOK);
          return (
            <tr
              key={key}
              class={`qw-agent ${clickable ? 'clickable' : ''} ${open === key ? 'open' : ''}`}
              data-testid="queue-agent"
              data-extension={m.extension}
              data-presence={m.presence}
              data-queue-state={m.state}
              onClick={
                clickable
                  ? (e) => {
                      e.stopPropagation();
                      setOpen(open === key ? null : key);
                    }
                  : undefined
              }
            >
              <td class="qw-agent-name">
                {m.name || m.extension} <span class="muted">{m.extension}</span>
                {open === key && <AgentMenu m={m} queue={queue} answered={answered} close={() => setOpen(null)} />}
              </td>
              <td>
                <span class={`status-${m.presence}`}>
                  <span class="dot" /> {presenceText[m.presence ?? ''] ?? m.presence}
                </span>
                {m.no_device && (
                  <span class="muted" data-testid="no-device" title="No phone registered: the queue offers this agent no calls">
                    {' '}
                    · no phone
                  </span>
                )}
              </td>
              <td>
                <span class={`badge qs-badge qs-${m.state}`} data-testid="queue-state">
                  {memberStateText[m.state] ?? m.state}
                </span>
              </td>
              <td class="num">
                <Since at={m.since} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function QueueWidget({ config }: WidgetProps<QueueConfig>) {
  const { view, error } = useQueue(config.queue);
  const [drill, setDrill] = useState<Drill>(null);
  if (!config.queue) return <p class="empty">Choose a queue with ⚙ (Edit).</p>;
  if (!view) return <p class={error ? 'error' : 'empty'}>{error || 'Loading…'}</p>;
  const cap = view.stats.capacity as Capacity | undefined;
  return (
    <div class="qw" data-testid="queue-widget" data-queue={config.queue}>
      {error && <p class="error">{error}</p>}
      <Figures v={view} drill={drill} setDrill={setDrill} />
      {cap && typeof cap === 'object' && <CapacityRow c={cap} />}
      {drill && <DrillDown v={view} drill={drill} queue={config.queue} />}
      <AgentList v={view} queue={config.queue} />
    </div>
  );
}

// ---- Configuration: which queue ----

interface QueueChoice {
  number: string;
  name: string;
}

/** queueChoices lists the queues the user may pick: all for an admin, else theirs and the directory's. */
async function queueChoices(): Promise<QueueChoice[]> {
  const out = new Map<string, QueueChoice>();
  const add = (number: string, name = '') => {
    if (number && (!out.has(number) || (name && !out.get(number)!.name))) out.set(number, { number, name });
  };
  const m = me.value as any;
  for (const q of m?.agent?.queues ?? []) add(q.number);
  for (const q of m?.supervised_queues ?? []) add(q);
  const tries: Promise<void>[] = [
    get<{ queues: { number: string; name: string }[] }>('/api/directory').then(
      (d) => (d.queues ?? []).forEach((q) => add(q.number, q.name)),
      () => {},
    ),
  ];
  if (isAdmin.value)
    tries.push(
      get<{ queues: { number: string; name: string }[] }>('/api/queues').then(
        (d) => (d.queues ?? []).forEach((q) => add(q.number, q.name)),
        () => {},
      ),
    );
  await Promise.all(tries);
  return [...out.values()].sort((a, b) => a.number.localeCompare(b.number));
}

function Configure({ config, done }: { config: QueueConfig; done: (c: QueueConfig | null) => void }) {
  const [choices, setChoices] = useState<QueueChoice[] | null>(null);
  const [q, setQ] = useState(config.queue);
  useEffect(() => {
    void queueChoices().then((c) => {
      setChoices(c);
      if (!q && c.length > 0) setQ(c[0].number);
    });
  }, []);
  return (
    <form
      class="config-form"
      onSubmit={(e) => {
        e.preventDefault();
        const name = choices?.find((c) => c.number === q)?.name ?? '';
        done({ queue: q.trim(), name });
      }}
    >
      <label>
        Queue
        {choices && choices.length > 0 ? (
          <select value={q} onChange={(e) => setQ((e.target as HTMLSelectElement).value)} data-testid="queue-select">
            {choices.map((c) => (
              <option key={c.number} value={c.number}>
                {c.name ? `${c.name} (${c.number})` : c.number}
              </option>
            ))}
          </select>
        ) : (
          <input value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder={choices ? '8000' : 'Loading…'} data-testid="queue-input" />
        )}
      </label>
      <div class="dialog-buttons">
        <button type="button" onClick={() => done(null)}>
          Cancel
        </button>
        <button class="primary" type="submit" disabled={!q.trim()} data-testid="widget-config-done">
          Continue
        </button>
      </div>
    </form>
  );
}

register<QueueConfig>({
  type: 'queue',
  title: 'Queue',
  description: 'A queue live: waiting callers, figures, agents; supervisors listen, whisper and barge',
  size: { w: 6, h: 7, minW: 4, minH: 4 },
  defaultConfig: () => ({ queue: '' }),
  caption: (c) => (c.queue ? `Queue ${c.name || c.queue}` : 'Queue'),
  Component: QueueWidget,
  Configure,
});
