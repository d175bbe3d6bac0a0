// The browser phone's panel: registration, microphone, the ring with
// answer/reject, dial pad, mute, hold, transfer/consult and level meters.
// Shown docked at the side (the header's phone button; it opens by itself
// when a call rings) and as a console widget of type "phone".

import './panel.css';
import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { me, myExtensions } from '../session';
import { now, since } from '../live';
import { lineState, actions } from '../widgets/mycalls';
import { openTransfer } from '../dialogs/transfer';
import { register } from '../widgets/registry';
import { overlays } from '../pages/registry';
import * as phone from './phone';
import type { Line } from './phone';

/** docked: the side panel is open. */
export const docked = signal(false);
/** widgets counts the phone widgets on screen (the side panel then stays shut on a ring). */
const widgets = signal(0);

const regText: Record<phone.RegState, string> = {
  off: 'Off',
  starting: 'Checking the microphone…',
  connecting: 'Connecting…',
  registered: 'Ready',
  reconnecting: 'Reconnecting…',
  failed: 'Not registered',
};

/** Level is a live audio level bar for a stream (WebAudio AnalyserNode), drawn without re-rendering. */
function Level({ stream, label, testid }: { stream?: MediaStream; label: string; testid: string }) {
  const bar = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!stream || stream.getAudioTracks().length === 0) return;
    const c = phone.ctx();
    const src = c.createMediaStreamSource(stream);
    const an = c.createAnalyser();
    an.fftSize = 512;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    let raf = 0;
    const draw = () => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      // −60 dBFS … 0 dBFS onto 0 … 100 %.
      const pct = Math.max(0, Math.min(100, ((20 * Math.log10(rms + 1e-9) + 60) / 60) * 100));
      if (bar.current) {
        bar.current.style.width = pct.toFixed(0) + '%';
        bar.current.parentElement!.dataset.level = pct.toFixed(0);
      }
      raf = requestAnimationFrame(draw);
    };
    draw();
    return () => {
      cancelAnimationFrame(raf);
      src.disconnect();
    };
  }, [stream]);
  return (
    <div class="phone-level" title={label}>
      <small>{label}</small>
      <span class="meter" data-testid={testid} data-level="0">
        <span ref={bar} />
      </span>
    </div>
  );
}

function Timer({ from }: { from: number }) {
  return <span class="timer">{since(new Date(from).toISOString(), now.value)}</span>;
}

const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

function LineCard({ l }: { l: Line }) {
  const mine = myExtensions.value;
  const c = phone.apiCallOf(l);
  const st = c && l.state === 'active' ? lineState(c, mine) : l.state;
  const [pad, setPad] = useState(false);
  const label: Record<string, string> = {
    ringing: 'Incoming call',
    calling: 'Calling',
    active: 'Talking',
    held: 'On hold',
    consult: 'Consulting',
    consulted: 'Consulted',
    conference: 'Conference',
    ended: l.ended ?? 'Ended',
  };
  return (
    <li class={`phone-line phone-line-${l.state}`} data-testid="phone-line" data-state={l.state} data-call-state={st} data-call-id={c?.id ?? ''}>
      <div class="phone-line-head">
        <span class={`badge badge-${st === 'ringing' ? 'incoming' : st}`}>{label[st] ?? st}</span>
        <strong data-testid="phone-remote">{l.remote || 'Unknown'}</strong>
        <span class="spacer" />
        {l.state !== 'ended' && <Timer from={l.answeredAt ?? l.startedAt} />}
      </div>
      {l.state === 'ringing' && (
        <div class="phone-actions">
          <button class="primary" onClick={() => void phone.answer(l.id)} data-testid="phone-answer">
            Answer
          </button>
          <button class="danger" onClick={() => (c ? void actions.reject(c) : phone.hangup(l.id))} data-testid="phone-reject">
            Reject
          </button>
        </div>
      )}
      {l.state === 'calling' && (
        <div class="phone-actions">
          <button class="danger" onClick={() => phone.hangup(l.id)} data-testid="phone-hangup">
            Cancel
          </button>
        </div>
      )}
      {l.state === 'active' && (
        <>
          <div class="phone-levels">
            <Level stream={phone.localStream(l.id)} label="You" testid="phone-level-mic" />
            <Level stream={phone.remoteStream(l.id)} label="Them" testid="phone-level-remote" />
          </div>
          <div class="phone-actions">
            <button class={l.muted ? 'on' : ''} aria-pressed={l.muted} onClick={() => phone.setMuted(l.id, !l.muted)} data-testid="phone-mute">
              {l.muted ? 'Unmute' : 'Mute'}
            </button>
            {c && st === 'active' && (
              <button onClick={() => void actions.hold(c)} data-testid="phone-hold">
                Hold
              </button>
            )}
            {c && st === 'held' && (
              <button class="primary" onClick={() => void actions.resume(c)} data-testid="phone-resume">
                Resume
              </button>
            )}
            {c && (st === 'active' || st === 'held') && (
              <button onClick={() => openTransfer({ callId: c.id, ringing: false, mode: 'blind' })} data-testid="phone-transfer">
                Transfer
              </button>
            )}
            {c && st === 'active' && (
              <button onClick={() => openTransfer({ callId: c.id, ringing: false, mode: 'consult' })} data-testid="phone-consult">
                Consult
              </button>
            )}
            {c && st === 'consult' && (
              <>
                <button class="primary" onClick={() => void actions.completeTransfer(c)} disabled={c.consult?.state === 'ringing'} data-testid="phone-complete-transfer">
                  Complete transfer
                </button>
                <button onClick={() => void actions.cancelConsult(c)} data-testid="phone-cancel-consult">
                  Cancel consult
                </button>
              </>
            )}
            <button onClick={() => setPad(!pad)} aria-pressed={pad} data-testid="phone-keypad">
              Keypad
            </button>
            <button class="danger" onClick={() => phone.hangup(l.id)} data-testid="phone-hangup">
              Hang up
            </button>
          </div>
          {pad && (
            <div class="phone-pad" data-testid="phone-dtmf-pad">
              {keys.map((k) => (
                <button key={k} onClick={() => phone.dtmf(l.id, k)} data-testid={`phone-dtmf-${k}`}>
                  {k}
                </button>
              ))}
            </div>
          )}
        </>
      )}
    </li>
  );
}

function Dialer() {
  const [number, setNumber] = useState('');
  const ready = phone.regState.value === 'registered';
  const call = () => {
    if (!number.trim()) return;
    void phone.dial(number);
    setNumber('');
  };
  return (
    <div class="phone-dialer">
      <form
        class="phone-dial-form"
        onSubmit={(e) => {
          e.preventDefault();
          call();
        }}
      >
        <input
          value={number}
          onInput={(e) => setNumber((e.target as HTMLInputElement).value)}
          placeholder="Number or extension"
          inputMode="tel"
          aria-label="Number to call"
          data-testid="phone-number"
        />
        <button class="primary" type="submit" disabled={!ready || !number.trim()} data-testid="phone-call">
          Call
        </button>
      </form>
      <div class="phone-pad">
        {keys.map((k) => (
          <button key={k} type="button" onClick={() => setNumber(number + k)} data-testid={`phone-key-${k}`}>
            {k}
          </button>
        ))}
      </div>
    </div>
  );
}

function Microphone() {
  const mics = phone.microphones.value;
  if (mics.length === 0) return null;
  return (
    <label class="phone-mic">
      <small>Microphone</small>
      <select value={phone.micId.value} onChange={(e) => phone.chooseMicrophone((e.target as HTMLSelectElement).value)} data-testid="phone-mic">
        <option value="">Default</option>
        {mics.map((m, i) => (
          <option key={m.deviceId} value={m.deviceId}>
            {m.label || `Microphone ${i + 1}`}
          </option>
        ))}
      </select>
    </label>
  );
}

/** PhonePanel is the whole phone; the side panel and the widget both show it. */
export function PhonePanel() {
  const m = me.value;
  const st = phone.regState.value;
  const err = phone.phoneError.value;
  if (!m) return null;
  if (m.extensions.length === 0) return <p class="empty">You have no extension, so there is no phone to register.</p>;
  const ls = phone.lines.value;
  const busy = ls.some((l) => l.state === 'active' || l.state === 'calling');
  return (
    <div class={`phone-panel phone-${st}`} data-testid="phone-panel" data-reg={st}>
      <div class="phone-head">
        <span class={`dot reg-${st}`} />
        <span data-testid="phone-status">
          {regText[st]}
          {st === 'registered' && ` · ${phone.extension.value}`}
          {st === 'reconnecting' && phone.attempts.value > 1 && ` (attempt ${phone.attempts.value})`}
        </span>
        <span class="spacer" />
        {m.extensions.length > 1 && st === 'off' && (
          <select value={phone.extension.value || m.extensions[0]} onChange={(e) => (phone.extension.value = (e.target as HTMLSelectElement).value)} aria-label="Extension">
            {m.extensions.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        )}
        {st === 'off' ? (
          <button class="primary" onClick={() => void phone.start()} data-testid="phone-start">
            Use this browser as phone
          </button>
        ) : (
          <button onClick={() => phone.stop()} disabled={busy} title={busy ? 'Hang up first' : ''} data-testid="phone-stop">
            Turn off
          </button>
        )}
      </div>
      {err && (
        <div class="phone-error" role="alert" data-testid="phone-error" data-kind={err.kind}>
          {err.text}
          {(err.kind === 'permission' || err.kind === 'no-microphone' || err.kind === 'microphone-busy') && (
            <button class="link" onClick={() => (phone.stop(false), void phone.start())}>
              Try again
            </button>
          )}
        </div>
      )}
      {st === 'off' && (
        <p class="hint">
          Rings together with your desk phone on {phone.extension.value || m.extensions[0]}; answer on either. Needs a headset or microphone.
        </p>
      )}
      {ls.length > 0 && (
        <ul class="phone-lines">
          {ls.map((l) => (
            <LineCard key={l.id} l={l} />
          ))}
        </ul>
      )}
      {st !== 'off' && <Microphone />}
      {st !== 'off' && <Dialer />}
    </div>
  );
}

/** PhoneButton sits in the header: the phone's state, and opens the side panel. */
export function PhoneButton() {
  const m = me.value;
  if (!m || m.extensions.length === 0) return null;
  const st = phone.regState.value;
  const ringing = phone.lines.value.some((l) => l.state === 'ringing');
  return (
    <button
      class={`phone-button reg-${st} ${ringing ? 'ringing' : ''}`}
      aria-pressed={docked.value}
      onClick={() => (docked.value = !docked.value)}
      title={`Browser phone: ${regText[st]}`}
      data-testid="phone-button"
      data-reg={st}
    >
      <span class="dot" /> Phone
    </button>
  );
}

/** PhoneDock is the side panel (an always-mounted overlay). A ringing call opens it unless a phone widget shows. */
function PhoneDock() {
  const ringing = phone.lines.value.some((l) => l.state === 'ringing');
  useEffect(() => {
    if (ringing && widgets.value === 0) docked.value = true;
  }, [ringing]);
  if (!docked.value || !me.value) return null;
  return (
    <aside class="phone-dock" aria-label="Phone" data-testid="phone-dock">
      <header>
        <h2>Phone</h2>
        <button class="icon" onClick={() => (docked.value = false)} aria-label="Close" data-testid="phone-dock-close">
          ✕
        </button>
      </header>
      <PhonePanel />
    </aside>
  );
}
overlays.add(PhoneDock);

function PhoneWidget() {
  useEffect(() => {
    widgets.value++;
    return () => void widgets.value--;
  }, []);
  return <PhonePanel />;
}

register({
  type: 'phone',
  title: 'Phone',
  description: 'This browser as your phone: answer, dial, mute, hold, transfer with a headset',
  size: { w: 3, h: 7, minW: 3, minH: 4 },
  defaultConfig: () => ({}),
  Component: PhoneWidget,
});
