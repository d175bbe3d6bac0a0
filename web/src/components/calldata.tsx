// The call-associated data panel (SPEC D2): a call's variables (GET
// /api/calls/{id}/data) in the admin's order with their labels, at most 30;
// editable ones as inputs by type, secure ones masked; save with the
// version read (PUT) — the first save wins, and a later one is told and
// shown the values saved first; undo back to the saved values; a warning
// before leaving (closing the panel, the page) with unsaved edits.
// call_data_changed events re-read the values when nothing is being edited.

import { Component } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, put, ApiError, describe } from '../api';
import { useComputed } from '@preact/signals';
import { calls, onEvent, onSnapshot } from '../live';
import { myParty } from '../calls';
import { myExtensions } from '../session';
import './calldata.css';

/** CallVariable is one variable of a call's data as the API shows it. */
interface CallVariable {
  name: string;
  label: string;
  type: 'string' | 'integer' | 'boolean' | 'datetime' | string;
  value: string;
  editable: boolean;
  secure: boolean;
  masked?: boolean;
}

interface CallDataDoc {
  call_id: string;
  flow?: string;
  version: number;
  variables: CallVariable[];
}

const maxShown = 30;
const maxLength = 256;

/** dirtyPanels counts panels with unsaved edits, for the page-leave warning. */
const dirtyPanels = new Set<string>();
window.addEventListener('beforeunload', (e) => {
  if (dirtyPanels.size > 0) e.preventDefault();
});

const pad = (n: number) => String(n).padStart(2, '0');

/** toLocalInput turns an RFC 3339 value into a datetime-local input's value (the browser's zone). */
function toLocalInput(v: string): string {
  if (!v) return '';
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) return '';
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

/** fromLocalInput turns a datetime-local value into RFC 3339 with the browser's offset (ISO 8601). */
function fromLocalInput(v: string): string {
  if (!v) return '';
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) return '';
  const off = -t.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function Field({ v, value, onChange }: { v: CallVariable; value: string; onChange: (x: string) => void }) {
  const [reveal, setReveal] = useState(false);
  const id = `cad-${v.name}`;
  const common = { id, 'data-testid': `cad-input-${v.name}`, 'aria-label': v.label };
  if (!v.editable || v.masked) {
    const shown = v.secure && !reveal && !v.masked && value ? '••••' : value;
    return (
      <span class="cad-value" data-testid={`cad-value-${v.name}`}>
        {shown || <span class="muted">—</span>}
        {v.secure && !v.masked && value && (
          <button type="button" class="icon" onClick={() => setReveal(!reveal)} aria-label={reveal ? 'Hide' : 'Show'} title={reveal ? 'Hide' : 'Show'}>
            {reveal ? 'Hide' : 'Show'}
          </button>
        )}
      </span>
    );
  }
  const eye = v.secure && (
    <button type="button" class="icon" onClick={() => setReveal(!reveal)} aria-label={reveal ? 'Hide' : 'Show'} title={reveal ? 'Hide' : 'Show'}>
      {reveal ? 'Hide' : 'Show'}
    </button>
  );
  let input;
  if (v.secure && !reveal) {
    // Secure (PII): typed blind, whatever its type, until shown.
    input = (
      <input {...common} type="password" autoComplete="off" maxLength={maxLength} value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
    );
  } else if (v.type === 'integer') {
    input = <input {...common} type="number" step={1} inputMode="numeric" value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />;
  } else if (v.type === 'boolean') {
    input = (
      <select {...common} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">—</option>
        <option value="true">Yes</option>
        <option value="false">No</option>
      </select>
    );
  } else if (v.type === 'datetime') {
    input = (
      <input
        {...common}
        type="datetime-local"
        step={1}
        value={toLocalInput(value)}
        onInput={(e) => onChange(fromLocalInput((e.target as HTMLInputElement).value))}
        title={value}
      />
    );
  } else {
    input = <input {...common} type="text" autoComplete="off" maxLength={maxLength} value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />;
  }
  return (
    <span class="cad-secure-wrap">
      {input}
      {eye}
    </span>
  );
}

/** CallData is the CAD panel of one call; it renders nothing when the call carries no variables.
 * It re-renders only for its own changes, not with the call card's ticking timer. */
export class CallData extends Component<{ callId: string }> {
  shouldComponentUpdate(next: { callId: string }) {
    return next.callId !== this.props.callId;
  }
  render() {
    return <CallDataPanel callId={this.props.callId} />;
  }
}

function CallDataPanel({ callId }: { callId: string }) {
  const [doc, setDoc] = useState<CallDataDoc | null>(null);
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [open, setOpen] = useState(true);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState('');
  const [conflict, setConflict] = useState<{ mine: Record<string, string> } | null>(null);
  const [remoteChanged, setRemoteChanged] = useState(false);
  const editsRef = useRef(edits);
  editsRef.current = edits;
  // Editing needs the call accepted (D2): while it only rings here, the panel reads.
  const onCall = useComputed(() => {
    const c = calls.value.get(callId);
    return !!c && !!myParty(c, myExtensions.value);
  });
  const dirty = Object.keys(edits).length > 0;

  const load = async () => {
    try {
      const d = await get<CallDataDoc>(`/api/calls/${encodeURIComponent(callId)}/data`);
      setDoc(d);
      setError('');
      setRemoteChanged(false);
      return d;
    } catch (e) {
      // 403/404: not my call's data (yet) or the call is gone; show nothing.
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) setDoc(null);
      else setError(describe(e));
      return null;
    }
  };

  useEffect(() => {
    void load();
    const offs = [
      onEvent('call_data_changed', (e) => {
        if (e.data?.call_id !== callId) return;
        if (Object.keys(editsRef.current).length === 0) void load();
        else setRemoteChanged(true);
      }),
      // The call's state (offer → answered) changes what may be read (secure values).
      onEvent('call_answered', (e) => {
        if ((e.data?.id ?? e.data?.call?.id) === callId && Object.keys(editsRef.current).length === 0) void load();
      }),
      onSnapshot(() => {
        if (Object.keys(editsRef.current).length === 0) void load();
      }),
    ];
    return () => {
      offs.forEach((f) => f());
      dirtyPanels.delete(callId);
    };
  }, [callId]);

  useEffect(() => {
    if (dirty) dirtyPanels.add(callId);
    else dirtyPanels.delete(callId);
    if (!dirty) return;
    // Leaving the console through a link (History, Admin, another console)
    // unmounts the panel: ask first, as closing the page does.
    const h = (e: MouseEvent) => {
      const a = (e.target as Element | null)?.closest?.('a[href]');
      if (!a || a.getAttribute('href') === location.hash) return;
      if (!confirm('The call data has unsaved changes. Leave and discard them?')) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    document.addEventListener('click', h, true);
    return () => document.removeEventListener('click', h, true);
  }, [dirty, callId]);

  if (!doc || doc.variables.length === 0) return error ? <p class="error cad-error">{error}</p> : null;
  const vars = doc.variables.slice(0, maxShown);
  const valueOf = (v: CallVariable) => (v.name in edits ? edits[v.name] : v.value);
  const readOnly = !onCall.value;
  const canEdit = !readOnly && vars.some((v) => v.editable && !v.masked);

  const change = (v: CallVariable, x: string) => {
    const next = { ...edits };
    if (x === v.value) delete next[v.name];
    else next[v.name] = x;
    setEdits(next);
  };

  const save = async () => {
    setSaving(true);
    setError('');
    try {
      const d = await put<CallDataDoc>(`/api/calls/${encodeURIComponent(callId)}/data`, { version: doc.version, values: edits });
      setDoc(d);
      setEdits({});
      setConflict(null);
      setRemoteChanged(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        // The first save wins: show what was saved, keep what I typed in the message.
        setConflict({ mine: edits });
        setEdits({});
        await load();
      } else setError(describe(e));
    }
    setSaving(false);
  };

  const toggle = () => {
    if (open && dirty && !confirm('The call data has unsaved changes. Close the panel and discard them?')) return;
    if (open) setEdits({});
    setOpen(!open);
  };

  return (
    <section class="cad" data-testid="call-data" data-version={doc.version} onClick={(e) => e.stopPropagation()}>
      <header class="cad-head">
        <button type="button" class="link" onClick={toggle} aria-expanded={open} data-testid="cad-toggle">
          {open ? '▾' : '▸'} Call data
        </button>
        {dirty && <span class="unsaved">unsaved</span>}
        {doc.variables.length > maxShown && <span class="muted">(first {maxShown})</span>}
      </header>
      {open && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (dirty) void save();
          }}
        >
          {conflict && (
            <div class="cad-conflict" role="alert" data-testid="cad-conflict">
              Someone else saved first; their values are shown below. Your changes were not saved:{' '}
              {Object.entries(conflict.mine)
                .map(([k, x]) => `${vars.find((v) => v.name === k)?.label ?? k} = ${vars.find((v) => v.name === k)?.secure ? '••••' : x || '(empty)'}`)
                .join('; ')}
              <button type="button" class="icon" onClick={() => setConflict(null)} aria-label="Dismiss">
                ✕
              </button>
            </div>
          )}
          {remoteChanged && (
            <p class="cad-remote" data-testid="cad-remote-changed">
              Someone else saved new values meanwhile; saving yours will be refused. Undo to see theirs.
            </p>
          )}
          <dl class="cad-list">
            {vars.map((v) => (
              <div key={v.name} class={`cad-row ${v.name in edits ? 'edited' : ''}`} data-testid={`cad-row-${v.name}`}>
                <dt>
                  <label for={`cad-${v.name}`}>{v.label}</label>
                  {v.secure && (
                    <span class="badge cad-secure" title="Secure variable (personal data): masked">
                      secure
                    </span>
                  )}
                </dt>
                <dd>
                  <Field v={readOnly ? { ...v, editable: false } : v} value={valueOf(v)} onChange={(x) => change(v, x)} />
                </dd>
              </div>
            ))}
          </dl>
          {error && <p class="error">{error}</p>}
          {canEdit && (
            <div class="cad-buttons">
              <button
                type="button"
                disabled={!dirty && !remoteChanged}
                onClick={() => {
                  setEdits({});
                  if (remoteChanged) void load();
                }}
                data-testid="cad-undo"
              >
                Undo
              </button>
              <button type="submit" class="primary" disabled={!dirty || saving} data-testid="cad-save">
                {saving ? 'Saving…' : 'Save'}
              </button>
            </div>
          )}
        </form>
      )}
    </section>
  );
}
