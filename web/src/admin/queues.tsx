// Queues (SPEC Q1–Q5, X1, X2, D2): the ACD settings, the members with their
// penalty and state, the supervisors, the wrap-up codes and the call data
// (CAD) variables of each queue.

import { useState } from 'preact/hooks';
import { ApiError, del, patch, post, put } from '../api';
import { go } from '../router';
import type { Membership } from '../types';
import type { SectionProps } from './admin';
import {
  Check,
  DataTable,
  DeleteButton,
  Field,
  Form,
  Panel,
  SaveRow,
  Text,
  numberOrRaw,
  useResource,
  useSaved,
  useSubmit,
  type AdminUser,
  type Extension,
  type Queue,
} from './ui';

const strategies: [string, string][] = [
  ['ringall', 'Ring all'],
  ['longest_idle', 'Longest idle'],
  ['round_robin', 'Round robin'],
  ['fewest_calls', 'Fewest calls'],
  ['linear', 'Linear (priority order)'],
];
const strategyLabel = (s: string) => strategies.find(([k]) => k === s)?.[1] ?? s;

export function QueuesSection({ item }: SectionProps) {
  const queues = useResource('/api/queues', (d) => (d.queues ?? []) as Queue[]);
  const sel = item === 'new' ? null : (queues.data ?? []).find((q) => q.number === item);
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>Queues</h1>
        <span class="spacer" />
        <button class="primary" onClick={() => go('#/admin/queues/new')} data-testid="new-queue">
          New queue
        </button>
      </div>
      {queues.error && <div class="form-error">{queues.error}</div>}
      <div class="admin-split">
        <div class="admin-list narrow">
          {queues.data ? (
            <DataTable
              testid="queues-table"
              rows={queues.data}
              rowKey={(q) => q.number}
              selected={item}
              onOpen={(q) => go(`#/admin/queues/${q.number}`)}
              columns={[
                { key: 'number', label: 'Number', value: (q) => q.number },
                { key: 'name', label: 'Name', value: (q) => q.name },
                { key: 'strategy', label: 'Strategy', value: (q) => strategyLabel(q.strategy) },
                { key: 'members', label: 'Members', value: (q) => q.members.length, num: true },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          {item === 'new' && (
            <QueueSettings
              key="new"
              queue={null}
              onSaved={async (q) => {
                await queues.reload();
                go(`#/admin/queues/${q.number}`);
              }}
            />
          )}
          {sel && <QueueDetail key={sel.number} queue={sel} reload={queues.reload} />}
          {item && item !== 'new' && queues.data && !sel && <p class="empty">No such queue.</p>}
          {!item && <p class="empty">Choose a queue to edit, or create one.</p>}
        </div>
      </div>
    </div>
  );
}

function QueueDetail({ queue, reload }: { queue: Queue; reload: () => Promise<void> }) {
  const [tab, setTab] = useState<'settings' | 'members' | 'supervisors' | 'wrapup' | 'variables'>('settings');
  const tabs: [typeof tab, string][] = [
    ['settings', 'Settings'],
    ['members', `Members (${queue.members.length})`],
    ['supervisors', 'Supervisors'],
    ['wrapup', 'Wrap-up codes'],
    ['variables', 'Call data'],
  ];
  return (
    <div class="queue-detail">
      <div class="tabs" role="tablist">
        {tabs.map(([k, label]) => (
          <button key={k} role="tab" aria-selected={tab === k} class={tab === k ? 'active' : ''} onClick={() => setTab(k)} data-testid={`queue-tab-${k}`}>
            {label}
          </button>
        ))}
      </div>
      {tab === 'settings' && <QueueSettings queue={queue} onSaved={() => reload()} />}
      {tab === 'members' && <MembersPanel queue={queue} reload={reload} />}
      {tab === 'supervisors' && <SupervisorsPanel queue={queue} />}
      {tab === 'wrapup' && <WrapupPanel queue={queue} />}
      {tab === 'variables' && <VariablesPanel queue={queue} />}
    </div>
  );
}

const numberFields = [
  'ring_time_s',
  'wrapup_time_s',
  'max_waiting',
  'max_wait_s',
  'service_level_s',
  'service_level_target_pct',
  'max_occupancy_pct',
  'announce_interval_s',
] as const;
type NumberField = (typeof numberFields)[number];
const flagFields = ['join_empty', 'announce_position', 'announce_ewt', 'offer_voicemail', 'offer_callback'] as const;
type FlagField = (typeof flagFields)[number];

function QueueSettings({ queue, onSaved }: { queue: Queue | null; onSaved: (q: Queue) => void }) {
  const q = queue;
  const [number, setNumber] = useState(q?.number ?? '');
  const [name, setName] = useState(q?.name ?? '');
  const [strategy, setStrategy] = useState(q?.strategy ?? 'ringall');
  const [overflow, setOverflow] = useState(q?.overflow_destination ?? '');
  const [nums, setNums] = useState<Record<NumberField, string>>(() => {
    const o = {} as Record<NumberField, string>;
    for (const f of numberFields) o[f] = q ? String(q[f]) : '';
    return o;
  });
  const [flags, setFlags] = useState<Record<FlagField, boolean>>(() => {
    const o = {} as Record<FlagField, boolean>;
    for (const f of flagFields) o[f] = q ? q[f] : f !== 'offer_voicemail' && f !== 'offer_callback';
    return o;
  });
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  const num = (f: NumberField) => ({ value: nums[f], set: (v: string) => setNums({ ...nums, [f]: v }), testid: `queue-${f}`, inputMode: 'numeric' });
  const flag = (f: FlagField) => ({ name: f, checked: flags[f], set: (v: boolean) => setFlags({ ...flags, [f]: v }) });
  const save = () =>
    run(async () => {
      const body: Record<string, unknown> = { name, strategy, overflow_destination: overflow, ...flags };
      for (const f of numberFields) {
        const v = numberOrRaw(nums[f]);
        if (typeof v === 'string') throw new ApiError(400, `invalid_${f}`, 'must be a whole number');
        if (v !== undefined) body[f] = v;
      }
      const out = q ? await patch<Queue>(`/api/queues/${q.number}`, body) : await post<Queue>('/api/queues', { number, ...body });
      markSaved();
      onSaved(out);
    });
  return (
    <Panel title={q ? `Queue ${q.number} · ${q.name}` : 'New queue'} testid="queue-settings">
      <Form onSubmit={save} error={error} fields={['number', 'name', 'strategy', 'overflow_destination', ...numberFields, ...flagFields]}>
        <div class="form-grid">
          <Field name="number" label="Number" hint="3 to 6 digits, not an extension’s.">
            <Text value={number} set={setNumber} disabled={!!q} inputMode="numeric" testid="queue-number" autoFocus={!q} />
          </Field>
          <Field name="name" label="Name">
            <Text value={name} set={setName} testid="queue-name" />
          </Field>
          <Field name="strategy" label="Strategy">
            <select value={strategy} onChange={(e) => setStrategy((e.target as HTMLSelectElement).value)} data-testid="queue-strategy">
              {strategies.map(([k, l]) => (
                <option key={k} value={k}>
                  {l}
                </option>
              ))}
            </select>
          </Field>
          <Field name="ring_time_s" label="Ring time (s)" hint="How long an agent’s phone rings before RONA.">
            <Text {...num('ring_time_s')} />
          </Field>
          <Field name="wrapup_time_s" label="Wrap-up time (s)">
            <Text {...num('wrapup_time_s')} />
          </Field>
        </div>
        <fieldset>
          <legend>Waiting and overflow</legend>
          <div class="form-grid">
            <Field name="max_waiting" label="Max waiting callers" hint="0: no limit.">
              <Text {...num('max_waiting')} />
            </Field>
            <Field name="max_wait_s" label="Max wait (s)" hint="0: no limit.">
              <Text {...num('max_wait_s')} />
            </Field>
            <Field name="overflow_destination" label="Overflow destination" hint="Extension, queue or number; empty: hang up.">
              <Text value={overflow} set={setOverflow} testid="queue-overflow_destination" />
            </Field>
          </div>
          <Check {...flag('join_empty')} label="Callers may join when no agent is logged in" />
        </fieldset>
        <fieldset>
          <legend>Caller experience</legend>
          <div class="form-grid">
            <Field name="announce_interval_s" label="Announce every (s)" hint="0: never.">
              <Text {...num('announce_interval_s')} />
            </Field>
          </div>
          <Check {...flag('announce_position')} label="Announce the position in the queue" />
          <Check {...flag('announce_ewt')} label="Announce the expected wait" />
          <Check {...flag('offer_voicemail')} label="Offer to leave a message (press 1)" />
          <Check {...flag('offer_callback')} label="Offer a callback (press 2)" />
        </fieldset>
        <fieldset>
          <legend>Service level</legend>
          <div class="form-grid">
            <Field name="service_level_s" label="Answered within (s)">
              <Text {...num('service_level_s')} />
            </Field>
            <Field name="service_level_target_pct" label="Target (%)">
              <Text {...num('service_level_target_pct')} />
            </Field>
            <Field name="max_occupancy_pct" label="Max occupancy (%)" hint="0: no limit.">
              <Text {...num('max_occupancy_pct')} />
            </Field>
          </div>
        </fieldset>
        <SaveRow busy={busy} label={q ? 'Save' : 'Create queue'} saved={saved}>
          {q && (
            <DeleteButton
              what={`queue ${q.number} (${q.name})`}
              onDelete={async () => {
                await del(`/api/queues/${q.number}`);
                go('#/admin/queues');
                onSaved(q);
              }}
            />
          )}
        </SaveRow>
      </Form>
    </Panel>
  );
}

const memberStates: [string, string][] = [
  ['logged_in', 'Logged in'],
  ['paused', 'Paused'],
  ['logged_out', 'Logged out'],
];

function MembersPanel({ queue, reload }: { queue: Queue; reload: () => Promise<void> }) {
  const exts = useResource('/api/extensions', (d) => (d.extensions ?? []) as Extension[]);
  const stats = useResource(`/api/queues/${queue.number}/stats`, (d) => (d.members ?? []) as Membership[]);
  const [addExt, setAddExt] = useState('');
  const [addPenalty, setAddPenalty] = useState('0');
  const { error, setError, busy, run } = useSubmit();
  const state = (ext: string) => (stats.data ?? []).find((m) => m.extension === ext);
  const extName = (n: string) => (exts.data ?? []).find((e) => e.number === n)?.display_name ?? '';
  const refresh = async () => {
    await reload();
    await stats.reload();
  };
  const setMember = (ext: string, body: { state?: string; penalty?: number | string }) =>
    run(async () => {
      await put(`/api/queues/${queue.number}/members/${ext}`, body);
      await refresh();
    });
  const remove = (ext: string) =>
    run(async () => {
      await patch(`/api/queues/${queue.number}`, { members: queue.members.filter((m) => m.extension !== ext) });
      await refresh();
    });
  const add = () => {
    if (!addExt) {
      setError({ field: 'extension', message: 'Choose an extension.' });
      return;
    }
    void run(async () => {
      const penalty = numberOrRaw(addPenalty) ?? 0;
      try {
        await put(`/api/queues/${queue.number}/members/${addExt}`, { state: 'logged_in', penalty });
      } catch (e) {
        // An extension nobody owns is no agent for the ACD yet; it can
        // still be a configured member.
        if (!(e instanceof ApiError && e.code === 'agent_not_found')) throw e;
        await patch(`/api/queues/${queue.number}`, { members: [...queue.members, { extension: addExt, penalty }] });
      }
      setAddExt('');
      setAddPenalty('0');
      await refresh();
    });
  };
  const candidates = (exts.data ?? []).filter((e) => !queue.members.some((m) => m.extension === e.number));
  return (
    <Panel title="Members" testid="queue-members">
      <Form onSubmit={add} error={error} fields={['extension', 'penalty']}>
        <table class="members-table" data-testid="members-table">
          <thead>
            <tr>
              <th>Extension</th>
              <th>Name</th>
              <th class="num">Penalty</th>
              <th>State</th>
              <th class="num">Answered</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {queue.members.map((m) => {
              const s = state(m.extension);
              return (
                <tr key={m.extension} data-member={m.extension} data-testid="member-row">
                  <td>{m.extension}</td>
                  <td>{s?.name || extName(m.extension)}</td>
                  <td class="num">
                    <PenaltyInput value={m.penalty} onSet={(p) => setMember(m.extension, { penalty: p })} ext={m.extension} />
                  </td>
                  <td>
                    {s ? (
                      <select value={s.state} onChange={(e) => setMember(m.extension, { state: (e.target as HTMLSelectElement).value })} data-testid={`member-state-${m.extension}`}>
                        {memberStates.map(([k, l]) => (
                          <option key={k} value={k}>
                            {l}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <span class="muted" title="The extension has no user, so it takes no queue calls">
                        not an agent
                      </span>
                    )}
                  </td>
                  <td class="num">{s?.answered ?? ''}</td>
                  <td>
                    <button type="button" class="danger small" onClick={() => remove(m.extension)} disabled={busy} data-testid={`member-remove-${m.extension}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {queue.members.length === 0 && <p class="empty">No members yet.</p>}
        <div class="add-row">
          <Field name="extension" label="Add extension">
            <select value={addExt} onChange={(e) => setAddExt((e.target as HTMLSelectElement).value)} data-testid="member-add-extension">
              <option value="">—</option>
              {candidates.map((e) => (
                <option key={e.number} value={e.number}>
                  {e.number} {e.display_name}
                </option>
              ))}
            </select>
          </Field>
          <Field name="penalty" label="Penalty" hint="0 rings first.">
            <Text value={addPenalty} set={setAddPenalty} inputMode="numeric" testid="member-add-penalty" />
          </Field>
          <button type="submit" disabled={busy} data-testid="member-add">
            Add member
          </button>
        </div>
      </Form>
    </Panel>
  );
}

/** PenaltyInput saves a member's penalty when it is changed and left. */
function PenaltyInput({ value, onSet, ext }: { value: number; onSet: (p: number | string) => void; ext: string }) {
  const [v, setV] = useState(String(value));
  const commit = () => {
    if (v !== String(value)) onSet(numberOrRaw(v) ?? 0);
  };
  return (
    <input
      class="penalty"
      value={v}
      inputMode="numeric"
      onInput={(e) => setV((e.target as HTMLInputElement).value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          commit();
        }
      }}
      data-testid={`member-penalty-${ext}`}
    />
  );
}

function SupervisorsPanel({ queue }: { queue: Queue }) {
  const users = useResource('/api/users', (d) => (d.users ?? []) as AdminUser[]);
  const current = useResource(`/api/queues/${queue.number}/supervisors`, (d) => (d.user_ids ?? []) as number[]);
  if (!users.data || !current.data) return <Panel title="Supervisors">{users.error || current.error || <div class="loading">Loading…</div>}</Panel>;
  return <SupervisorsForm queue={queue} users={users.data.filter((u) => u.role === 'supervisor')} initial={current.data} />;
}

function SupervisorsForm({ queue, users, initial }: { queue: Queue; users: AdminUser[]; initial: number[] }) {
  const [ids, setIds] = useState(new Set(initial));
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  return (
    <Panel title="Supervisors" testid="queue-supervisors">
      <p class="hint">Supervisors of a queue see its calls and agents, change members’ states and may listen, whisper and barge.</p>
      <Form
        onSubmit={() =>
          run(async () => {
            const r = await put<{ user_ids: number[] }>(`/api/queues/${queue.number}/supervisors`, { user_ids: [...ids] });
            setIds(new Set(r.user_ids ?? []));
            markSaved();
          })
        }
        error={error}
        fields={[]}
      >
        <div class="check-list">
          {users.map((u) => (
            <label class="check" key={u.id}>
              <input
                type="checkbox"
                checked={ids.has(u.id)}
                onChange={() => {
                  const n = new Set(ids);
                  if (n.has(u.id)) n.delete(u.id);
                  else n.add(u.id);
                  setIds(n);
                }}
                data-testid={`supervisor-${u.username}`}
              />
              {u.display_name || u.username} ({u.username})
            </label>
          ))}
          {users.length === 0 && <span class="muted">No user has the supervisor role.</span>}
        </div>
        <SaveRow busy={busy} label="Save supervisors" saved={saved} />
      </Form>
    </Panel>
  );
}

interface WrapupCode {
  id: number;
  queue: string;
  code: string;
  label: string;
}

function WrapupPanel({ queue }: { queue: Queue }) {
  const codes = useResource(`/api/queues/${queue.number}/wrapup-codes`, (d) => (d.wrapup_codes ?? []) as WrapupCode[]);
  const [code, setCode] = useState('');
  const [label, setLabel] = useState('');
  const { error, busy, run } = useSubmit();
  return (
    <Panel title="Wrap-up codes" testid="queue-wrapup">
      <p class="hint">Agents choose one of these at the end of a call of this queue.</p>
      {codes.error && <div class="form-error">{codes.error}</div>}
      <table data-testid="wrapup-table">
        <thead>
          <tr>
            <th>Code</th>
            <th>Label</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(codes.data ?? []).map((c) => (
            <tr key={c.id} data-code={c.code} data-testid="wrapup-row">
              <td>{c.code}</td>
              <td>{c.label}</td>
              <td>
                <DeleteButton
                  small
                  what={`wrap-up code ${c.code}`}
                  onDelete={async () => {
                    await del(`/api/queues/${queue.number}/wrapup-codes/${c.id}`);
                    await codes.reload();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {codes.data?.length === 0 && <p class="empty">No wrap-up codes.</p>}
      <Form
        onSubmit={() =>
          run(async () => {
            await post(`/api/queues/${queue.number}/wrapup-codes`, { code, label });
            setCode('');
            setLabel('');
            await codes.reload();
          })
        }
        error={error}
        fields={['code', 'label']}
      >
        <div class="add-row">
          <Field name="code" label="Code">
            <Text value={code} set={setCode} testid="wrapup-code" />
          </Field>
          <Field name="label" label="Label">
            <Text value={label} set={setLabel} testid="wrapup-label" />
          </Field>
          <button type="submit" disabled={busy} data-testid="wrapup-add">
            Add code
          </button>
        </div>
      </Form>
    </Panel>
  );
}

interface Variable {
  name: string;
  label: string;
  type: string;
  order: number;
  editable: boolean;
  secure: boolean;
}

const varTypes = ['string', 'integer', 'boolean', 'datetime'];

function VariablesPanel({ queue }: { queue: Queue }) {
  const vars = useResource(`/api/queues/${queue.number}/variables`, (d) => (d.variables ?? []) as Variable[]);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <Panel
      title="Call data variables"
      testid="queue-variables"
      actions={
        <button type="button" onClick={() => setEditing('')} data-testid="variable-new">
          New variable
        </button>
      }
    >
      <p class="hint">Shown on the agent’s offer card and call (at most 30). Secure values are masked for those who may not see them.</p>
      {vars.error && <div class="form-error">{vars.error}</div>}
      <table data-testid="variables-table">
        <thead>
          <tr>
            <th class="num">Order</th>
            <th>Name</th>
            <th>Label</th>
            <th>Type</th>
            <th>Editable</th>
            <th>Secure</th>
          </tr>
        </thead>
        <tbody>
          {(vars.data ?? []).map((v) => (
            <tr key={v.name} class="clickable" onClick={() => setEditing(v.name)} data-testid="variable-row" data-name={v.name}>
              <td class="num">{v.order}</td>
              <td>{v.name}</td>
              <td>{v.label}</td>
              <td>{v.type}</td>
              <td>{v.editable ? 'yes' : ''}</td>
              <td>{v.secure ? 'yes' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {vars.data?.length === 0 && <p class="empty">No variables.</p>}
      {editing !== null && (
        <VariableForm
          key={editing}
          queue={queue}
          v={(vars.data ?? []).find((x) => x.name === editing) ?? null}
          next={(vars.data ?? []).reduce((m, x) => Math.max(m, x.order), 0) + 10}
          done={async () => {
            setEditing(null);
            await vars.reload();
          }}
        />
      )}
    </Panel>
  );
}

function VariableForm({ queue, v, next, done }: { queue: Queue; v: Variable | null; next: number; done: () => void }) {
  const [name, setName] = useState(v?.name ?? '');
  const [label, setLabel] = useState(v?.label ?? '');
  const [type, setType] = useState(v?.type ?? 'string');
  const [order, setOrder] = useState(String(v?.order ?? next));
  const [editable, setEditable] = useState(v?.editable ?? true);
  const [secure, setSecure] = useState(v?.secure ?? false);
  const { error, busy, run } = useSubmit();
  const base = `/api/queues/${queue.number}/variables`;
  return (
    <Form
      class="sub-form"
      testid="variable-form"
      onSubmit={() =>
        run(async () => {
          const body = { label, type, order: numberOrRaw(order) ?? 0, editable, secure };
          if (v) await patch(`${base}/${encodeURIComponent(v.name)}`, body);
          else await post(base, { name, ...body });
          done();
        })
      }
      error={error}
      fields={['name', 'label', 'type', 'order', 'editable', 'secure']}
    >
      <h4>{v ? `Variable ${v.name}` : 'New variable'}</h4>
      <div class="form-grid">
        <Field name="name" label="Name" hint="An identifier: letters, digits, _.">
          <Text value={name} set={setName} disabled={!!v} testid="variable-name" />
        </Field>
        <Field name="label" label="Label">
          <Text value={label} set={setLabel} testid="variable-label" />
        </Field>
        <Field name="type" label="Type">
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)} data-testid="variable-type">
            {varTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </Field>
        <Field name="order" label="Order">
          <Text value={order} set={setOrder} inputMode="numeric" testid="variable-order" />
        </Field>
      </div>
      <Check name="editable" label="Agents may edit the value" checked={editable} set={setEditable} />
      <Check name="secure" label="Secure (PII: masked for others)" checked={secure} set={setSecure} />
      <SaveRow busy={busy} label={v ? 'Save variable' : 'Add variable'}>
        <button type="button" onClick={() => done()}>
          Cancel
        </button>
        {v && (
          <DeleteButton
            what={`variable ${v.name}`}
            onDelete={async () => {
              await del(`${base}/${encodeURIComponent(v.name)}`);
              done();
            }}
          />
        )}
      </SaveRow>
    </Form>
  );
}

