// My calls (SPEC C5, D1): the user's own calls — the incoming offer card and
// the actions each state allows — with several lines listed and the actions
// working on the selected one. Keyboard: A answer, H hold/resume,
// T transfer, C consult, X hang up (outside text fields).

import { useEffect, useState } from 'preact/hooks';
import { register, type WidgetProps } from './registry';
import { myCalls, myParty, otherParty, ringingAt, routeOf, targetOf, talkers, partyLabel } from '../calls';
import { now, since } from '../live';
import { post } from '../api';
import { act, me, myExtensions } from '../session';
import { openTransfer } from '../dialogs/transfer';
import { CallData } from '../components/calldata';
import type { Call } from '../types';

/** lineState is the call as seen from my side. */
export function lineState(c: Call, mine: Set<string>): 'incoming' | 'outgoing' | 'active' | 'held' | 'consult' | 'consulted' | 'conference' | 'queued' {
  const p = myParty(c, mine);
  if (!p) {
    if (ringingAt(c).some((e) => mine.has(e))) return 'incoming';
    if (c.from.kind === 'extension' && mine.has(c.from.number)) return c.state === 'queued' ? 'queued' : 'outgoing';
    return 'incoming';
  }
  if (c.conference) return 'conference';
  if (c.consult && c.consult.by === p.id) return 'consult';
  // The consulted party may only leave (the role rules, SPEC D4).
  if (c.consult && c.consult.party === p.id) return 'consulted';
  if (c.held && (c.parties ?? []).some((x) => x !== p && x.held)) return 'held';
  if (c.held && c.held !== p.role) return 'held';
  return 'active';
}

const lineText: Record<string, string> = {
  incoming: 'Ringing',
  outgoing: 'Calling',
  queued: 'In queue',
  active: 'Talking',
  held: 'On hold',
  consult: 'Consulting',
  consulted: 'Consulted',
  conference: 'Conference',
};

function holdParty(c: Call, mine: Set<string>): string {
  const p = myParty(c, mine);
  return p?.role === 'caller' ? 'callee' : 'caller';
}

/** actions performs the call actions of the My calls widget. */
export const actions = {
  answer: (c: Call) => act('Answer', () => post(`/api/calls/${c.id}/answer`)),
  // Decline: a queue offer goes back to the queue (no RONA), a direct call ends busy for the caller.
  reject: (c: Call) => act('Reject', () => post(`/api/calls/${c.id}/reject`)),
  hold: (c: Call) => act('Hold', () => post(`/api/calls/${c.id}/hold`, { party: holdParty(c, myExtensions.value) })),
  resume: (c: Call) => act('Resume', () => post(`/api/calls/${c.id}/resume`)),
  hangup: (c: Call) => act('Hang up', () => post(`/api/calls/${c.id}/hangup`)),
  leave: (c: Call) => act('Leave', () => post(`/api/calls/${c.id}/leave`)),
  swap: (c: Call) => act('Swap', () => post(`/api/calls/${c.id}/consult/swap`)),
  cancelConsult: (c: Call) => act('Cancel consult', () => post(`/api/calls/${c.id}/consult/cancel`)),
  completeTransfer: (c: Call) => act('Transfer', () => post(`/api/calls/${c.id}/consult/transfer`)),
  conference: (c: Call) => act('Conference', () => post(`/api/calls/${c.id}/consult/conference`)),
  record: (c: Call, action: 'start' | 'stop' | 'pause' | 'resume') => act('Recording', () => post(`/api/calls/${c.id}/recording/${action}`)),
};

function CallCard({ c, selected, onSelect }: { c: Call; selected: boolean; onSelect: () => void }) {
  const mine = myExtensions.value;
  const st = lineState(c, mine);
  const t = targetOf(c);
  const at = now.value;
  const p = myParty(c, mine);
  const consultParty = c.consult?.party ? (c.parties ?? []).find((x) => x.id === c.consult!.party) : undefined;
  const customer = talkers(c).find((x) => x !== p && x.id !== c.consult?.party);
  const canRecord = !!me.value?.profile.can_control_recording;
  return (
    <li class={`line line-${st} ${selected ? 'selected' : ''}`} onClick={onSelect} data-call-id={c.id} data-line-state={st} data-testid="line">
      <div class="line-head">
        <span class={`badge badge-${st}`}>{lineText[st]}</span>
        <strong class="line-who" data-testid="line-who">
          {st === 'incoming' ? partyLabel(c.from) : otherParty(c, mine)}
        </strong>
        <span class="spacer" />
        <span class="timer" data-testid="line-timer">
          {since(st === 'incoming' ? c.started_at : c.answered_at ?? c.started_at, at)}
        </span>
      </div>
      {st === 'incoming' && (
        <dl class="offer" data-testid="offer-card">
          <dt>ANI</dt>
          <dd>{c.from.number}</dd>
          <dt>DNIS</dt>
          <dd>{c.did ?? c.to}</dd>
          {t.kind === 'queue' && (
            <>
              <dt>Queue</dt>
              <dd>{t.id}</dd>
            </>
          )}
          <dt>Route</dt>
          <dd>{routeOf(c)}</dd>
        </dl>
      )}
      {st === 'consult' && (
        <div class="consult-panels">
          <div class={`panel ${customer?.held ? 'held' : 'talking'}`}>
            <small>Customer</small> {customer ? partyLabel(customer) : '—'} {customer?.held ? '· on hold' : '· talking'}
          </div>
          <div class={`panel ${c.consult?.state === 'held' ? 'held' : 'talking'}`}>
            <small>Consulted</small> {consultParty ? partyLabel(consultParty) : c.consult?.target} · {c.consult?.state}
          </div>
        </div>
      )}
      {st !== 'outgoing' && st !== 'queued' && <CallData callId={c.id} />}
      {c.recording && <div class="rec-line">{c.recording.paused ? '⏸ recording paused' : '● recording'}</div>}
      <div class="line-actions">
        {st === 'incoming' && (
          <>
            <button class="primary" onClick={() => actions.answer(c)} data-testid="answer">
              Answer
            </button>
            <button onClick={() => openTransfer({ callId: c.id, ringing: true, mode: 'blind' })} data-testid="transfer">
              Transfer
            </button>
            <button class="danger" onClick={() => actions.reject(c)} data-testid="reject">
              Reject
            </button>
          </>
        )}
        {st === 'active' && (
          <>
            <button onClick={() => actions.hold(c)} data-testid="hold">
              Hold
            </button>
            <button onClick={() => openTransfer({ callId: c.id, ringing: false, mode: 'blind' })} data-testid="transfer">
              Transfer
            </button>
            <button onClick={() => openTransfer({ callId: c.id, ringing: false, mode: 'consult' })} data-testid="consult">
              Consult
            </button>
          </>
        )}
        {st === 'held' && (
          <>
            <button class="primary" onClick={() => actions.resume(c)} data-testid="resume">
              Resume
            </button>
            <button onClick={() => openTransfer({ callId: c.id, ringing: false, mode: 'blind' })} data-testid="transfer">
              Transfer
            </button>
          </>
        )}
        {st === 'consult' && (
          <>
            <button onClick={() => actions.swap(c)} disabled={c.consult?.state === 'ringing'} data-testid="swap">
              Swap
            </button>
            <button class="primary" onClick={() => actions.completeTransfer(c)} disabled={c.consult?.state === 'ringing'} data-testid="complete-transfer">
              Transfer
            </button>
            <button onClick={() => actions.conference(c)} disabled={c.consult?.state === 'ringing'} data-testid="conference">
              Conference
            </button>
            <button onClick={() => actions.cancelConsult(c)} data-testid="cancel-consult">
              Cancel consult
            </button>
          </>
        )}
        {canRecord && (st === 'active' || st === 'conference') && (
          <>
            {!c.recording && <button onClick={() => actions.record(c, 'start')}>Record</button>}
            {c.recording && !c.recording.paused && (
              <button onClick={() => actions.record(c, 'pause')} data-testid="record-pause">
                Pause recording
              </button>
            )}
            {c.recording?.paused && (
              <button onClick={() => actions.record(c, 'resume')} data-testid="record-resume">
                Resume recording
              </button>
            )}
          </>
        )}
        {st === 'conference' && (
          <button onClick={() => actions.leave(c)} data-testid="leave">
            Leave
          </button>
        )}
        {st === 'consulted' && (
          <button class="danger" onClick={() => actions.leave(c)} data-testid="leave-consult">
            Leave consultation
          </button>
        )}
        {st !== 'incoming' && st !== 'consulted' && (
          <button
            class="danger"
            onClick={() => actions.hangup(c)}
            disabled={st === 'held'}
            title={st === 'held' ? 'Resume the call before hanging up' : ''}
            data-testid="hangup"
          >
            Hang up
          </button>
        )}
      </div>
    </li>
  );
}

function MyCalls(_: WidgetProps) {
  const list = myCalls.value;
  const [selected, setSelected] = useState<string | null>(null);
  const sel = list.find((c) => c.id === selected) ?? list[list.length - 1];
  useEffect(() => {
    const h = (e: KeyboardEvent) => {
      const tgt = e.target as HTMLElement;
      if (!sel || e.ctrlKey || e.metaKey || e.altKey || /INPUT|TEXTAREA|SELECT/.test(tgt.tagName) || document.querySelector('.modal')) return;
      const st = lineState(sel, myExtensions.value);
      const k = e.key.toLowerCase();
      if (k === 'a' && st === 'incoming') void actions.answer(sel);
      else if (k === 'h' && st === 'active') void actions.hold(sel);
      else if (k === 'h' && st === 'held') void actions.resume(sel);
      else if (k === 't' && (st === 'active' || st === 'held' || st === 'incoming'))
        openTransfer({ callId: sel.id, ringing: st === 'incoming', mode: 'blind' });
      else if (k === 'c' && st === 'active') openTransfer({ callId: sel.id, ringing: false, mode: 'consult' });
      else if (k === 'x' && st !== 'incoming' && st !== 'held' && st !== 'consulted') void actions.hangup(sel);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, [sel?.id, sel?.state, sel?.held]);
  if (list.length === 0) return <p class="empty">No calls. Incoming calls show here.</p>;
  return (
    <ul class="lines" data-testid="my-calls">
      {list.map((c) => (
        <CallCard key={c.id} c={c} selected={c === sel} onSelect={() => setSelected(c.id)} />
      ))}
    </ul>
  );
}

register({
  type: 'mycalls',
  title: 'My calls',
  description: 'Your incoming and active calls with their actions',
  size: { w: 4, h: 6, minW: 3, minH: 3 },
  defaultConfig: () => ({}),
  Component: MyCalls,
});
