// The call list widget (SPEC C2): live calls for chosen users, queues and
// DIDs, or everything the user may see; which device rings, who talks, for
// how long, and the route each call came through.

import { useEffect, useState } from 'preact/hooks';
import { ConfigButtons, ContactPicker, type Following } from '../components/contactpicker';
import { directory, ensureDirectory } from '../directory';
import { calls, now, since } from '../live';
import { register, type WidgetProps } from './registry';
import { displayState, ringingAt, routeOf, talkers, partyLabel, targetOf } from '../calls';
import type { Call } from '../types';

/** CallListConfig: whose calls the list shows; extensions are typed ones (older consoles), users come from the directory. */
interface CallListConfig extends Following {
  extensions: string[];
  dids: string[];
}

/** followedExtensions: the extensions of the users followed, and those typed. */
function followedExtensions(cfg: CallListConfig): Set<string> {
  const exts = new Set(cfg.extensions ?? []);
  for (const u of directory.value?.users ?? []) if (cfg.users?.includes(u.id)) for (const x of u.extensions) exts.add(x.number);
  return exts;
}

function matches(c: Call, cfg: CallListConfig, exts: Set<string>): boolean {
  if (cfg.follow_all) return true;
  const t = targetOf(c);
  if (t.kind === 'queue' && cfg.queues.includes(t.id)) return true;
  if (c.did && (cfg.dids ?? []).includes(c.did)) return true;
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
  useEffect(() => {
    if (!config.follow_all && config.users?.length) ensureDirectory();
  }, [config.follow_all, config.users?.length]);
  const exts = followedExtensions(config);
  const list = [...calls.value.values()].filter((c) => matches(c, config, exts));
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
  const [c, setC] = useState<CallListConfig>({ follow_all: !!config.follow_all, users: config.users ?? [], queues: config.queues ?? [], extensions: config.extensions ?? [], dids: config.dids ?? [] });
  return (
    <form
      class="config-form"
      onSubmit={(e) => {
        e.preventDefault();
        done(c);
      }}
    >
      <ContactPicker value={c} onChange={(f) => setC({ ...c, ...f })} />
      <fieldset disabled={c.follow_all}>
        <label>
          Numbers dialled in (DIDs)
          <input value={c.dids.join(', ')} onInput={(e) => setC({ ...c, dids: splitList((e.target as HTMLInputElement).value) })} placeholder="+31201230001" data-testid="follow-dids" />
        </label>
      </fieldset>
      <ConfigButtons cancel={() => done(null)} />
    </form>
  );
}

register<CallListConfig>({
  type: 'calls',
  title: 'Call list',
  description: 'Live calls of chosen users, queues and numbers, or of everyone',
  size: { w: 8, h: 6, minW: 4, minH: 3 },
  defaultConfig: () => ({ follow_all: true, users: [], extensions: [], queues: [], dids: [] }),
  caption: (c) => (c.follow_all ? 'Call list · everyone' : 'Call list'),
  Component: CallList,
  Configure,
});
