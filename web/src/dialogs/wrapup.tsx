// The wrap-up dialog (SPEC Q3, D5): when a queue call ends the ACD puts
// the agent in wrap-up (agent_state_changed → session's `agent`); this
// dialog shows the queue's wrap-up codes and the time left, records the
// chosen code (POST /api/me/wrapup — it lands in the call's CDR and so in
// the interaction history) and ends the wrap-up early when asked. Closing
// it hides it for this call only; the header still shows Wrap-up.

import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { Modal } from '../components/modal';
import { get, post, describe } from '../api';
import { act, agent, refreshAgent } from '../session';
import { now, duration } from '../live';
import { overlays } from '../pages/registry';
import './wrapup.css';

interface WrapupCode {
  id: number;
  queue: string;
  code: string;
  label?: string;
}

/** codesByQueue caches each queue's wrap-up codes (they change rarely). */
const codesByQueue = signal<Map<string, WrapupCode[] | string>>(new Map());

async function loadCodes(queue: string) {
  try {
    const r = await get<{ wrapup_codes: WrapupCode[] }>(`/api/queues/${encodeURIComponent(queue)}/wrapup-codes`);
    codesByQueue.value = new Map(codesByQueue.value).set(queue, r.wrapup_codes ?? []);
  } catch (e) {
    codesByQueue.value = new Map(codesByQueue.value).set(queue, describe(e));
  }
}

/** dismissed is the call whose wrap-up dialog the agent closed. */
const dismissed = signal('');

function TimeLeft({ endsAt }: { endsAt: string }) {
  const left = Math.max(0, (Date.parse(endsAt) - now.value) / 1000);
  return (
    <span class="wrapup-left" data-testid="wrapup-time-left">
      {duration(Math.round(left))} left
    </span>
  );
}

function WrapupDialog() {
  const a = agent.value;
  const w = a?.state === 'wrap_up' ? (a.wrapup as { call_id: string; queue: string; ends_at?: string; code?: string } | undefined) : undefined;
  const [chosen, setChosen] = useState('');
  const [busy, setBusy] = useState(false);
  const callID = w?.call_id ?? '';
  useEffect(() => {
    setChosen(w?.code ?? '');
    if (w?.queue) void loadCodes(w.queue);
  }, [callID]);
  if (!w || dismissed.value === callID) return null;
  const codes = codesByQueue.value.get(w.queue);
  const send = async (code: string, end: boolean) => {
    setBusy(true);
    const ok = await act(end ? 'End wrap-up' : 'Wrap-up code', () => post('/api/me/wrapup', { code, end }));
    setBusy(false);
    if (ok) await refreshAgent();
  };
  return (
    <Modal title="Wrap-up" onClose={() => (dismissed.value = callID)}>
      <div class="wrapup" data-testid="wrapup-dialog" data-call-id={callID}>
        <p class="wrapup-head">
          Queue {w.queue} call ended. {w.ends_at && <TimeLeft endsAt={w.ends_at} />}
        </p>
        {w.code && (
          <p class="hint" data-testid="wrapup-saved">
            Code recorded: <strong>{w.code}</strong>
          </p>
        )}
        {codes === undefined && <p class="empty">Loading codes…</p>}
        {typeof codes === 'string' && <p class="error">{codes}</p>}
        {Array.isArray(codes) && codes.length === 0 && <p class="empty">This queue has no wrap-up codes.</p>}
        {Array.isArray(codes) && codes.length > 0 && (
          <div class="wrapup-codes" role="radiogroup" aria-label="Wrap-up code">
            {codes.map((c) => (
              <button
                key={c.code}
                role="radio"
                aria-checked={chosen === c.code}
                class={chosen === c.code ? 'primary' : ''}
                onClick={() => setChosen(c.code)}
                data-testid={`wrapup-code-${c.code}`}
              >
                {c.label || c.code}
              </button>
            ))}
          </div>
        )}
        <div class="dialog-buttons">
          <button disabled={busy} onClick={() => send('', true)} data-testid="wrapup-end">
            {chosen && chosen !== w.code ? 'End without code' : 'End wrap-up'}
          </button>
          <button disabled={busy || !chosen} onClick={() => send(chosen, false)} data-testid="wrapup-save">
            Save code
          </button>
          <button class="primary" disabled={busy || !chosen} onClick={() => send(chosen, true)} data-testid="wrapup-save-end">
            Save and end
          </button>
        </div>
      </div>
    </Modal>
  );
}

overlays.add(WrapupDialog);
