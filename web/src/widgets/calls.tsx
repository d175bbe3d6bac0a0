// The call list widget (SPEC C2): live calls for chosen users, queues and
// DIDs, or everything the user may see; which device rings, who talks, for
// how long, and the route each call came through.

import { useState } from 'preact/hooks';
import { calls, now, since } from '../live';
import { register, type WidgetProps } from './registry';
import { displayState, ringingAt, routeOf, talkers, partyLabel, targetOf } from '../calls';
import type { Call } from '../types';

interface CallListConfig {
  follow_all: boolean;
  extensions: string[];
  queues: string[];
  dids: string[];
}

function matches(c: Call, cfg: CallListConfig): boolean {
  if (cfg.follow_all) return true;
  const exts = new Set(cfg.extensions);
  const t = targetOf(c);
  if (t.kind === 'queue' && cfg.queues.includes(t.id)) return true;
  if (c.did && cfg.dids.includes(c.did)) return true;
  if (c.from.kind === 'extension' && exts.has(c.from.number)) return true;
  if (t.kind === 'extension' && exts.has(t.id)) return true;
  if ((c.parties ?? []).some((p) => p.extension && exts.has(p.extension))) return true;
  return ringingAt(c).some((e) => exts.has(e));
}

const stateText: Record<string, string> = {
  routing: 'Routing',
  ringing: 'Ringing',
  queued: 'In queue',
  answered: 'Talking',
  held: 'On hold',
};

function CallList({ config }: WidgetProps<CallListConfig>) {
  const at = now.value;
  const list = [...calls.value.values()].filter((c) => matches(c, config));
  list.sort((a, b) => a.started_at.localeCompare(b.started_at));
  if (list.length === 0) return <p class="empty">No calls right now.</p>;
  return (
    <table class="call-list" data-testid="call-list">
      <thead>
        <tr>
          <th>State</th>
          <th>From</th>
          <th>Talking / ringing</th>
          <th>Route</th>
          <th class="num">Time</th>
        </tr>
      </thead>
      <tbody>
        {list.map((c) => {
          const ring = ringingAt(c);
          const ps = talkers(c).filter((p) => p.role !== 'caller');
          const state = displayState(c);
          return (
            <tr key={c.id} class={`call-row state-${state}`} data-call-id={c.id} data-state={state}>
              <td>
                <span class={`badge badge-${state}`}>{stateText[state] ?? state}</span>
                {c.consult && <span class="badge">consult</span>}
                {c.conference && <span class="badge">conference</span>}
                {c.recording && !c.recording.paused && <span class="badge badge-rec" title="Recording">● rec</span>}
              </td>
              <td>{partyLabel(c.from)}</td>
              <td>
                {ps.length > 0 && ps.map((p) => (
                  <span key={p.id} class={`party ${p.held ? 'held' : ''}`}>
                    {partyLabel(p)}
                    {p.held ? ' (held)' : ''}
                  </span>
                ))}
                {ring.length > 0 && <span class="ringing-at">🔔 {ring.join(', ')}</span>}
                {ps.length === 0 && ring.length === 0 && <span class="muted">{c.to}</span>}
              </td>
              <td class="route">{routeOf(c)}</td>
              <td class="num duration" data-testid="duration">
                {since(c.answered_at ?? c.started_at, at)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const splitList = (s: string) =>
  s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function Configure({ config, done }: { config: CallListConfig; done: (c: CallListConfig | null) => void }) {
  const [c, setC] = useState(config);
  return (
    <form
      class="config-form"
      onSubmit={(e) => {
        e.preventDefault();
        done(c);
      }}
    >
      <label class="check">
        <input type="checkbox" checked={c.follow_all} onChange={(e) => setC({ ...c, follow_all: (e.target as HTMLInputElement).checked })} data-testid="follow-all" />
        Follow everything in the organisation
      </label>
      <fieldset disabled={c.follow_all}>
        <label>
          Users / extensions
          <input value={c.extensions.join(', ')} onInput={(e) => setC({ ...c, extensions: splitList((e.target as HTMLInputElement).value) })} placeholder="1001, 1002" />
        </label>
        <label>
          Queues
          <input value={c.queues.join(', ')} onInput={(e) => setC({ ...c, queues: splitList((e.target as HTMLInputElement).value) })} placeholder="8000" />
        </label>
        <label>
          Numbers dialled in (DIDs)
          <input value={c.dids.join(', ')} onInput={(e) => setC({ ...c, dids: splitList((e.target as HTMLInputElement).value) })} placeholder="+31201230001" />
        </label>
      </fieldset>
      <div class="dialog-buttons">
        <button type="button" onClick={() => done(null)}>
          Cancel
        </button>
        <button class="primary" type="submit" data-testid="widget-config-done">
          Continue
        </button>
      </div>
    </form>
  );
}

register<CallListConfig>({
  type: 'calls',
  title: 'Call list',
  description: 'Live calls of chosen users, queues and numbers, or of everyone',
  size: { w: 8, h: 6, minW: 4, minH: 3 },
  defaultConfig: () => ({ follow_all: true, extensions: [], queues: [], dids: [] }),
  caption: (c) => (c.follow_all ? 'Call list · everyone' : 'Call list'),
  Component: CallList,
  Configure,
});
