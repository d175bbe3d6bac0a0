// The transfer / consult dialog (SPEC D3, D4, C3, C6). openTransfer shows
// it for one call: favourites and recents on top, then tabs Agent / Queue
// / Number with search and a refresh button. Agents show their live
// availability; one in wrap-up cannot be chosen, and a blind transfer
// goes only to an Available agent (else consult first). A ringing call
// is only redirected. The server holds the same rules and its refusal
// (409 agent_unavailable and the like) is shown in the dialog as it said.

import { signal } from '@preact/signals';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Modal } from '../components/modal';
import { ApiError, get, post } from '../api';
import { act, me, notify } from '../session';
import { overlays } from '../pages/registry';
import {
  agentText,
  availability,
  directory,
  directoryError,
  directoryLoading,
  ensureDirectory,
  favourites,
  isFavourite,
  loadFavourites,
  presenceText,
  queueByNumber,
  recents,
  refreshDirectory,
  toggleFavourite,
  userByID,
  userPresence,
  type DirectoryQueue,
  type DirectoryUser,
} from '../directory';
import './transfer.css';

/** TransferRequest is what the dialog was opened for. */
export interface TransferRequest {
  callId: string;
  /** ringing: the call rings (redirect only); answered: blind or attended. */
  ringing: boolean;
  /** mode preselected: blind transfer or consult first (attended). */
  mode: 'blind' | 'consult';
  /** title overrides the dialog's title (e.g. "Transfer Alice's ringing call"). */
  title?: string;
}

export const transferRequest = signal<TransferRequest | null>(null);

export function openTransfer(r: TransferRequest) {
  transferRequest.value = r;
}

/**
 * sendTransfer sends the call to target: a ringing call is redirected
 * (POST /api/calls/{id}/redirect, which also takes another user's ringing
 * call for an operator); an answered one is transferred blind or a
 * consultation starts. It throws the server's refusal.
 */
export async function sendTransfer(r: TransferRequest, target: string, mode: 'blind' | 'consult'): Promise<void> {
  if (r.ringing) await post(`/api/calls/${r.callId}/redirect`, { target });
  else if (mode === 'consult') await post(`/api/calls/${r.callId}/consult`, { target });
  else await post(`/api/calls/${r.callId}/transfer`, { target });
}

/** doTransfer is sendTransfer reporting a refusal as a notice; true when it worked. */
export async function doTransfer(r: TransferRequest, target: string, mode: 'blind' | 'consult'): Promise<boolean> {
  return act(mode === 'consult' && !r.ringing ? 'Consult' : 'Transfer', () => sendTransfer(r, target, mode));
}

type Tab = 'agent' | 'queue' | 'number';

/** Choice is the selected destination. */
interface Choice {
  kind: 'user' | 'queue' | 'number';
  /** dial is what the API is sent as target. */
  dial: string;
  label: string;
  user?: DirectoryUser;
}

/** DialCheck is GET /api/dialplan/check's answer. */
interface DialCheck {
  input: string;
  normalized: string;
  kind: string;
  name?: string;
  did?: boolean;
  allowed: boolean;
  transfer_allowed: boolean;
  error?: string;
}

/** blockReason says why a user cannot be chosen at all ('' when they can). */
function blockReason(u: DirectoryUser): string {
  if (u.extensions.length === 0) return 'has no extension';
  if (u.agent?.state === 'wrap_up') return 'in wrap-up: cannot take a transfer now';
  return '';
}

/** blindReason says why a blind transfer (or a redirect) may not go to u ('' when it may). */
function blindReason(u: DirectoryUser): string {
  const a = u.agent;
  if (!a || a.transferable) return '';
  return `${u.display_name || u.username} is not Available (${agentText(a)}): only a consultation is possible`;
}

function userChoice(u: DirectoryUser): Choice {
  return { kind: 'user', dial: u.extensions[0]?.number ?? '', label: u.display_name || u.username, user: u };
}

function queueChoice(q: DirectoryQueue): Choice {
  return { kind: 'queue', dial: q.number, label: q.name || q.number };
}

function matchesSearch(s: string, ...fields: (string | undefined)[]) {
  if (!s) return true;
  const q = s.toLowerCase();
  return fields.some((f) => f && f.toLowerCase().includes(q));
}

function Star({ kind, target, label }: { kind: string; target: string; label: string }) {
  const on = isFavourite(kind, target);
  const [err, setErr] = useState('');
  return (
    <button
      type="button"
      class={`icon star ${on ? 'on' : ''}`}
      title={err || (on ? 'Remove from favourites' : 'Add to favourites')}
      aria-pressed={on}
      data-testid="fav-toggle"
      onClick={async (e) => {
        e.stopPropagation();
        try {
          await toggleFavourite(kind, target, label);
          setErr('');
        } catch (x) {
          setErr(x instanceof ApiError ? x.message : String(x));
        }
      }}
    >
      {on ? '★' : '☆'}
    </button>
  );
}

function AgentRow({ u, selected, blind, onPick }: { u: DirectoryUser; selected: boolean; blind: boolean; onPick: (c: Choice) => void }) {
  const block = blockReason(u);
  const av = availability(u);
  const noBlind = blind ? blindReason(u) : '';
  const exts = u.extensions.map((x) => x.number).join(', ');
  return (
    <li
      class={`tr-row ${selected ? 'selected' : ''} ${block ? 'blocked' : ''} ${noBlind ? 'consult-only' : ''}`}
      data-testid="transfer-agent"
      data-user-id={u.id}
      data-extension={u.extensions[0]?.number ?? ''}
      data-availability={av}
      aria-disabled={!!block}
      title={block ? `${u.display_name}: ${block}` : noBlind}
      onClick={() => !block && onPick(userChoice(u))}
    >
      <span class={`pres-dot av-${av}`} />
      <span class="tr-name">{u.display_name || u.username}</span>
      <span class="tr-ext muted">{exts}</span>
      <span class={`tr-state av-text-${av}`} data-testid="agent-state">
        {u.agent ? agentText(u.agent) : presenceText[userPresence(u)] ?? userPresence(u)}
        {u.agent && userPresence(u) !== 'available' && userPresence(u) !== 'offline' ? ` · ${presenceText[userPresence(u)]}` : ''}
        {u.agent && userPresence(u) === 'offline' ? ' · no phone' : ''}
      </span>
      {block && <span class="tr-reason" data-testid="blocked-reason">{block}</span>}
      <Star kind="user" target={String(u.id)} label={u.display_name || u.username} />
    </li>
  );
}

function QueueRow({ q, selected, onPick }: { q: DirectoryQueue; selected: boolean; onPick: (c: Choice) => void }) {
  return (
    <li class={`tr-row ${selected ? 'selected' : ''}`} data-testid="transfer-queue" data-queue={q.number} onClick={() => onPick(queueChoice(q))}>
      <span class={`pres-dot ${q.agents_available > 0 ? 'av-available' : 'av-busy'}`} />
      <span class="tr-name">{q.name || q.number}</span>
      <span class="tr-ext muted">{q.number}</span>
      <span class="tr-state" data-testid="queue-waiting">
        {q.waiting} waiting · {q.agents_available}/{q.agents_logged_in} agents free
      </span>
      <Star kind="queue" target={q.number} label={q.name} />
    </li>
  );
}

/** CheckResult shows what the server would dial for the typed text (SPEC T12), live. */
function CheckResult({ value, check }: { value: string; check: DialCheck | null | 'checking' }) {
  if (value.trim() === '') return <div class="hint">Digits and + # * : only; other characters are dropped. 3–14 digits; E.164, US and IDD forms.</div>;
  return (
    <div class="hint tr-check" data-testid="number-check">
      {check === 'checking' && 'Checking…'}
      {check && check !== 'checking' && (
        <>
          {check.normalized && (
            <span>
              Dials <strong data-testid="number-normalized">{check.normalized}</strong>
              {check.kind !== 'invalid' && ` · ${check.kind}${check.name ? ' ' + check.name : ''}${check.did ? ' (our DID)' : ''}`}
            </span>
          )}
          {(check.error || !check.transfer_allowed) && (
            <div class="error" data-testid="number-error">
              {check.error || 'You may not transfer to this number.'}
            </div>
          )}
        </>
      )}
    </div>
  );
}

function QuickPicks({ onPick }: { onPick: (c: Choice, tab: Tab) => void }) {
  const favs = favourites.value ?? [];
  const recs = recents.value;
  const chip = (kind: string, target: string, label: string, key: string, testid: string) => {
    let c: Choice | null = null;
    let tab: Tab = 'number';
    let av = '';
    let blocked = '';
    if (kind === 'user') {
      const u = userByID(target);
      if (!u) return null; // gone from the directory
      c = userChoice(u);
      tab = 'agent';
      av = availability(u);
      blocked = blockReason(u);
      label = label || c.label;
    } else if (kind === 'queue') {
      const q = queueByNumber(target);
      c = q ? queueChoice(q) : { kind: 'queue', dial: target, label: label || target };
      tab = 'queue';
      label = label || c.label;
      av = q && q.agents_available > 0 ? 'available' : 'busy';
    } else {
      c = { kind: 'number', dial: target, label: label || target };
    }
    return (
      <button
        type="button"
        key={key}
        class={`chip ${blocked ? 'blocked' : ''}`}
        disabled={!!blocked}
        title={blocked || c.dial}
        data-testid={testid}
        data-target={c.dial}
        onClick={() => onPick(c!, tab)}
      >
        {av && <span class={`pres-dot av-${av}`} />}
        {label}
      </button>
    );
  };
  const recentChips = recs
    .filter((r) => !favs.some((f) => f.kind === r.kind && f.target === r.target))
    .slice(0, 8)
    .map((r) => chip(r.kind, r.target, '', `r-${r.kind}-${r.target}`, 'recent'));
  return (
    <div class="tr-quick">
      <div class="tr-quick-row">
        <small>Favourites</small>
        {favs.length === 0 ? <span class="muted">— star an agent or queue to add it</span> : favs.map((f) => chip(f.kind, f.target, f.label, `f-${f.kind}-${f.target}`, 'favourite'))}
      </div>
      {recentChips.some(Boolean) && (
        <div class="tr-quick-row">
          <small>Recents</small>
          {recentChips}
        </div>
      )}
    </div>
  );
}

function TransferDialog() {
  const r = transferRequest.value;
  if (!r) return null;
  // Keyed by the call: a new request starts from a clean dialog.
  return <TransferForm key={`${r.callId}:${r.ringing}:${r.mode}`} r={r} />;
}

function TransferForm({ r }: { r: TransferRequest }) {
  const [tab, setTab] = useState<Tab>('agent');
  // text is both the search of the lists and, when nothing is picked, the target typed.
  const [text, setText] = useState('');
  const [picked, setPicked] = useState<Choice | null>(null);
  const [mode, setMode] = useState<'blind' | 'consult'>(r.ringing ? 'blind' : r.mode);
  const [check, setCheck] = useState<DialCheck | null | 'checking'>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const checkSeq = useRef(0);
  const myID = me.value?.user.id;
  const blind = r.ringing || mode === 'blind';

  useEffect(() => {
    ensureDirectory();
    void refreshDirectory();
    void loadFavourites();
  }, []);

  // What is typed is checked as the server would dial it (debounced); the
  // latest answer wins. Names do not check: only when digits are typed.
  useEffect(() => {
    const v = text.trim();
    if (!v || !/[0-9]/.test(v)) {
      setCheck(v && tab === 'number' ? { input: v, normalized: '', kind: 'invalid', allowed: false, transfer_allowed: false, error: 'no digits' } : null);
      return;
    }
    setCheck('checking');
    const seq = ++checkSeq.current;
    const t = setTimeout(async () => {
      try {
        const c = await get<DialCheck>('/api/dialplan/check?number=' + encodeURIComponent(v));
        if (seq === checkSeq.current) setCheck(c);
      } catch (e) {
        if (seq === checkSeq.current)
          setCheck({ input: v, normalized: '', kind: 'invalid', allowed: false, transfer_allowed: false, error: e instanceof ApiError ? e.message : String(e) });
      }
    }, 200);
    return () => clearTimeout(t);
  }, [text, tab]);

  const close = () => (transferRequest.value = null);
  const dir = directory.value;
  const users = useMemo(
    () =>
      (dir?.users ?? [])
        .filter((u) => u.id !== myID && u.extensions.length > 0)
        .sort((a, b) => (a.display_name || a.username).localeCompare(b.display_name || b.username)),
    [dir, myID],
  );
  const search = text.trim();
  const shownUsers = users.filter((u) => matchesSearch(search, u.display_name, u.username, ...u.extensions.map((x) => x.number)));
  const shownQueues = (dir?.queues ?? []).filter((q) => matchesSearch(search, q.name, q.number));

  // The choice as the directory says now (a state may change while the
  // dialog is open): a picked row, else the typed target — which, when it
  // is a user's extension, is that user, under the same rules.
  const choice: Choice | null = (() => {
    if (picked?.kind === 'user') {
      const u = users.find((x) => x.id === picked.user?.id);
      return u ? userChoice(u) : null;
    }
    if (picked) return picked;
    if (!search) return null;
    const dial = check && check !== 'checking' && check.normalized ? check.normalized : search;
    const u = users.find((x) => x.extensions.some((e) => e.number === dial));
    if (u) return { ...userChoice(u), dial };
    const label = check && check !== 'checking' && check.name ? `${check.name}` : dial;
    return { kind: 'number', dial, label };
  })();
  const why = (() => {
    if (!choice?.user) return '';
    const b = blockReason(choice.user);
    if (b) return `${choice.label} is ${b}`;
    return blind ? blindReason(choice.user) : '';
  })();

  const pick = (c: Choice, t?: Tab) => {
    setError('');
    if (t && t !== tab) setTab(t);
    if (c.kind === 'number') {
      setTab('number');
      setText(c.dial);
      setPicked(null);
      return;
    }
    setPicked(c);
  };

  const submit = async () => {
    if (!choice || why || busy) return;
    setBusy(true);
    setError('');
    try {
      await sendTransfer(r, choice.dial, blind ? 'blind' : 'consult');
      close();
    } catch (e) {
      const msg = e instanceof ApiError ? e.message || e.code : String(e);
      setError(msg);
      notify(`${verb}: ${msg}`);
      // A refusal often means the directory is behind: re-read it.
      void refreshDirectory();
    } finally {
      setBusy(false);
    }
  };

  const verb = r.ringing ? 'Redirect' : blind ? 'Transfer' : 'Consult';
  const title = r.title ?? (r.ringing ? 'Transfer the ringing call' : mode === 'consult' ? 'Consult or transfer' : 'Transfer');
  return (
    <Modal title={title} onClose={close} wide>
      <form
        class="transfer-form"
        data-testid="transfer-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <QuickPicks onPick={pick} />
        <div class="tr-toolbar">
          <input
            class="tr-search"
            value={text}
            onInput={(e) => {
              setText((e.target as HTMLInputElement).value);
              setPicked(null);
              setError('');
            }}
            placeholder="Name, extension, queue or number"
            autoFocus
            autoComplete="off"
            data-testid="transfer-target"
          />
          <div class="tabs" role="tablist">
            {(['agent', 'queue', 'number'] as Tab[]).map((t) => (
              <button
                type="button"
                key={t}
                role="tab"
                aria-selected={tab === t}
                class={tab === t ? 'tab active' : 'tab'}
                data-testid={`tab-${t}`}
                onClick={() => {
                  setTab(t);
                  setError('');
                }}
              >
                {t === 'agent' ? 'Agent' : t === 'queue' ? 'Queue' : 'Number'}
              </button>
            ))}
          </div>
          <button
            type="button"
            class={`icon refresh ${directoryLoading.value ? 'spin' : ''}`}
            title="Refresh the list"
            aria-label="Refresh the list"
            data-testid="transfer-refresh"
            onClick={() => {
              void refreshDirectory();
              void loadFavourites();
            }}
          >
            ⟳
          </button>
        </div>
        {directoryError.value && <p class="error">Directory: {directoryError.value}</p>}
        {tab === 'agent' && (
          <ul class="tr-list" data-testid="transfer-agents">
            {!dir && <li class="muted">Loading…</li>}
            {dir && shownUsers.length === 0 && <li class="muted">Nobody matches{search ? `: ${search} is dialled as a number` : ''}.</li>}
            {shownUsers.map((u) => (
              <AgentRow key={u.id} u={u} selected={picked?.kind === 'user' && picked.user?.id === u.id} blind={blind} onPick={pick} />
            ))}
          </ul>
        )}
        {tab === 'queue' && (
          <ul class="tr-list" data-testid="transfer-queues">
            {dir && shownQueues.length === 0 && <li class="muted">No queue matches.</li>}
            {shownQueues.map((q) => (
              <QueueRow key={q.number} q={q} selected={picked?.kind === 'queue' && picked.dial === q.number} onPick={pick} />
            ))}
          </ul>
        )}
        {(tab === 'number' || (!picked && search !== '' && check !== null)) && <CheckResult value={text} check={check} />}
        {!r.ringing && (
          <div class="radio-row tr-mode">
            <label class="check">
              <input type="radio" name="mode" checked={mode === 'consult'} onChange={() => setMode('consult')} data-testid="mode-consult" /> Attended (consult first)
            </label>
            <label class="check">
              <input type="radio" name="mode" checked={mode === 'blind'} onChange={() => setMode('blind')} data-testid="mode-blind" /> Unattended (blind)
            </label>
          </div>
        )}
        {r.ringing && <p class="hint">The call is still ringing: it is sent on at once (unattended).</p>}
        <div class="tr-summary" data-testid="transfer-summary">
          {choice ? (
            <>
              {verb} to <strong>{choice.label}</strong> {choice.dial !== choice.label && <span class="muted">({choice.dial})</span>}
            </>
          ) : (
            <span class="muted">Choose an agent, a queue or type a number.</span>
          )}
          {why && (
            <div class="error" data-testid="transfer-why">
              {why}
            </div>
          )}
          {error && (
            <div class="error" role="alert" data-testid="transfer-error">
              {error}
            </div>
          )}
        </div>
        <div class="dialog-buttons">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={!choice || !!why || busy} data-testid="transfer-submit">
            {verb}
          </button>
        </div>
      </form>
    </Modal>
  );
}

overlays.add(TransferDialog);
