// The phonebook widget (SPEC C3): chosen users and queues, or everyone in
// the organisation, with live presence (available, ringing, busy,
// offline) and agent state from the directory. Per contact, what its
// state allows: call it (click-to-call: the user's own phone rings
// first), and while it rings take that call (pickup) or send it on to a
// user, queue or number (the transfer dialog, redirect only).

import { useEffect, useMemo, useState } from 'preact/hooks';
import { register, type WidgetProps } from './registry';
import { calls } from '../live';
import { ringingAt, partyLabel } from '../calls';
import { post } from '../api';
import { act, me, notify } from '../session';
import { openTransfer } from '../dialogs/transfer';
import {
  agentText,
  directory,
  directoryError,
  directoryLoading,
  ensureDirectory,
  presenceText,
  refreshDirectory,
  userPresence,
  type DirectoryQueue,
  type DirectoryUser,
} from '../directory';
import type { Call } from '../types';
import { ConfigButtons, ContactPicker, textMatches, type Following } from '../components/contactpicker';
import '../dialogs/transfer.css';
import './phonebook.css';

/** PhonebookConfig is what a placed phonebook shows. */
/** PhonebookConfig: the contacts shown (everyone, or users and queues). */
export type PhonebookConfig = Following;

/** ringingCalls maps each extension to the oldest call ringing there. */
function ringingCalls(all: Map<string, Call>): Map<string, Call> {
  const out = new Map<string, Call>();
  for (const c of all.values()) {
    for (const ext of ringingAt(c)) {
      const prev = out.get(ext);
      if (!prev || c.started_at < prev.started_at) out.set(ext, c);
    }
  }
  return out;
}

const callContact = (number: string, label: string) =>
  act(`Call ${label}`, async () => {
    await post('/api/calls', { target: number });
    notify(`Your phone rings first; then ${label} is called.`, 'info');
  });

function UserRow({ u, ringing }: { u: DirectoryUser; ringing?: Call }) {
  const pres = ringing ? 'ringing' : userPresence(u);
  const ext = u.extensions[0]?.number ?? '';
  const name = u.display_name || u.username;
  const mine = me.value?.user.id === u.id;
  return (
    <li class={`pb-row pres-${pres}`} data-testid="pb-contact" data-user-id={u.id} data-extension={ext} data-presence={pres}>
      <span class={`pres-dot av-${pres}`} />
      <div class="pb-who">
        <span class="pb-name">{name}</span>
        <span class="muted pb-ext">{u.extensions.map((x) => x.number).join(', ')}</span>
      </div>
      <div class="pb-state">
        <span class={`av-text-${pres}`} data-testid="pb-presence">
          {presenceText[pres] ?? pres}
        </span>
        {u.agent && (
          <span class="muted pb-agent" data-testid="pb-agent">
            {agentText(u.agent)}
          </span>
        )}
        {ringing && (
          <span class="pb-caller" title="Caller">
            ← {partyLabel(ringing.from)}
          </span>
        )}
      </div>
      <div class="pb-actions">
        {pres === 'ringing' && !mine ? (
          <>
            <button
              class="primary"
              disabled={!ringing}
              title={ringing ? 'Take this call to your phone' : 'The ringing call is not visible to you'}
              data-testid="pb-pickup"
              onClick={() => ringing && act('Pick up', () => post(`/api/calls/${ringing.id}/pickup`))}
            >
              Pick up
            </button>
            <button
              disabled={!ringing}
              data-testid="pb-transfer"
              onClick={() => ringing && openTransfer({ callId: ringing.id, ringing: true, mode: 'blind', title: `Transfer the call ringing at ${name}` })}
            >
              Transfer
            </button>
          </>
        ) : (
          !mine &&
          ext && (
            <button
              disabled={pres === 'busy'}
              title={pres === 'busy' ? `${name} is on a call` : `Call ${name}: your phone rings first`}
              data-testid="pb-call"
              onClick={() => callContact(ext, name)}
            >
              Call
            </button>
          )
        )}
      </div>
    </li>
  );
}

function QueueRow({ q }: { q: DirectoryQueue }) {
  return (
    <li class="pb-row" data-testid="pb-queue" data-queue={q.number}>
      <span class={`pres-dot ${q.agents_available > 0 ? 'av-available' : 'av-busy'}`} />
      <div class="pb-who">
        <span class="pb-name">{q.name || q.number}</span>
        <span class="muted pb-ext">queue {q.number}</span>
      </div>
      <div class="pb-state">
        <span data-testid="pb-waiting">{q.waiting} waiting</span>
        <span class="muted pb-agent">
          {q.agents_available}/{q.agents_logged_in} agents free
        </span>
      </div>
      <div class="pb-actions">
        <button data-testid="pb-call" onClick={() => callContact(q.number, q.name || q.number)}>
          Call
        </button>
      </div>
    </li>
  );
}

const matches = textMatches;

function Phonebook({ config }: WidgetProps<PhonebookConfig>) {
  const [search, setSearch] = useState('');
  useEffect(() => ensureDirectory(), []);
  const dir = directory.value;
  const ringing = useMemo(() => ringingCalls(calls.value), [calls.value]);
  const s = search.trim().toLowerCase();
  const users = useMemo(() => {
    const chosen = new Set(config.users ?? []);
    return (dir?.users ?? [])
      .filter((u) => u.extensions.length > 0 && (config.follow_all || chosen.has(u.id)))
      .sort((a, b) => (a.display_name || a.username).localeCompare(b.display_name || b.username));
  }, [dir, config]);
  const queues = (dir?.queues ?? []).filter((q) => config.follow_all || (config.queues ?? []).includes(q.number));
  const shownUsers = users.filter((u) => matches(s, u.display_name, u.username, ...u.extensions.map((x) => x.number)));
  const shownQueues = queues.filter((q) => matches(s, q.name, q.number));
  return (
    <div class="phonebook" data-testid="phonebook">
      <div class="pb-toolbar">
        <input type="search" placeholder="Search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} data-testid="pb-search" />
        <button
          class={`icon refresh ${directoryLoading.value ? 'spin' : ''}`}
          title="Refresh"
          aria-label="Refresh"
          onClick={() => void refreshDirectory()}
        >
          ⟳
        </button>
      </div>
      {directoryError.value && (
        <p class="error" data-testid="pb-error">
          Directory: {directoryError.value}
        </p>
      )}
      {!dir && !directoryError.value && <p class="empty">Loading…</p>}
      {dir && users.length === 0 && queues.length === 0 && <p class="empty">No contacts chosen: use ⚙ to pick users and queues.</p>}
      <ul class="pb-list">
        {shownUsers.map((u) => (
          <UserRow key={u.id} u={u} ringing={u.extensions.map((x) => ringing.get(x.number)).find(Boolean)} />
        ))}
        {shownQueues.map((q) => (
          <QueueRow key={'q' + q.number} q={q} />
        ))}
      </ul>
    </div>
  );
}

function Configure({ config, done }: { config: PhonebookConfig; done: (c: PhonebookConfig | null) => void }) {
  const [c, setC] = useState<PhonebookConfig>({ follow_all: !!config.follow_all, users: config.users ?? [], queues: config.queues ?? [] });
  return (
    <form
      class="config-form pb-config"
      onSubmit={(e) => {
        e.preventDefault();
        done(c);
      }}
    >
      <ContactPicker value={c} onChange={setC} />
      <ConfigButtons cancel={() => done(null)} />
    </form>
  );
}

register<PhonebookConfig>({
  type: 'phonebook',
  title: 'Phonebook',
  description: 'Colleagues and queues with live presence: call, pick up, transfer',
  size: { w: 4, h: 6, minW: 3, minH: 3 },
  defaultConfig: () => ({ follow_all: true, users: [], queues: [] }),
  caption: (c) => (c.follow_all ? 'Phonebook · everyone' : 'Phonebook'),
  Component: Phonebook,
  Configure,
});
