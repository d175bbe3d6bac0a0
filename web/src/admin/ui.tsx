// What the admin pages share: forms that show the API's refusal next to the
// field it names, a sortable and searchable table, a delete button that asks
// first, and the shapes of the configuration API's resources.

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, get } from '../api';
import { Modal } from '../components/modal';
import './admin.css';

// ---- Resources as GET /api/… answers them ----

export interface Profile {
  can_outdial: boolean;
  can_keypad_dial: boolean;
  can_control_recording: boolean;
  allowed_anis: string[];
  can_use_console?: boolean;
}

export interface AdminUser {
  id: number;
  username: string;
  display_name: string;
  role: string;
  created_at: string;
  profile: Profile;
}

export interface Extension {
  id: number;
  number: string;
  display_name: string;
  user_id: number | null;
}

export interface QueueMember {
  extension: string;
  penalty: number;
}

export interface Queue {
  id: number;
  number: string;
  name: string;
  strategy: string;
  members: QueueMember[];
  ring_time_s: number;
  wrapup_time_s: number;
  max_waiting: number;
  max_wait_s: number;
  overflow_destination: string;
  join_empty: boolean;
  service_level_s: number;
  service_level_target_pct: number;
  max_occupancy_pct: number;
  announce_interval_s: number;
  announce_position: boolean;
  announce_ewt: boolean;
  offer_voicemail: boolean;
  offer_callback: boolean;
}

export interface Trunk {
  id: number;
  name: string;
  host: string;
  transport: string;
  username: string;
  has_password: boolean;
  inbound_cidrs: string[];
  outbound: boolean;
}

export interface DID {
  id: number;
  number: string;
  trunk_id: number;
  target_kind: string;
  target: string;
}

// ---- Errors ----

/** FormError is a refusal to show: next to field when it names one. */
export interface FormError {
  field?: string;
  message: string;
}

// Conflicts name no field in their code, but the field that collides is clear.
const conflictFields: Record<string, string> = {
  user_exists: 'username',
  extension_exists: 'number',
  queue_exists: 'number',
  did_exists: 'number',
  trunk_exists: 'name',
  reason_code_exists: 'code',
  wrapup_code_exists: 'code',
  variable_exists: 'name',
  unsupported_strategy: 'strategy',
  cannot_demote_self: 'role',
};

/** toFormError reads the API's {code, message}: invalid_<field> belongs to that field. */
export function toFormError(e: unknown): FormError {
  if (e instanceof ApiError) {
    let field = conflictFields[e.code];
    if (!field && e.code.startsWith('invalid_') && e.code !== 'invalid_request' && e.code !== 'invalid_json') field = e.code.slice('invalid_'.length);
    return { field, message: e.message || e.code };
  }
  return { message: String(e) };
}

/** useSubmit runs a save and keeps its refusal for the form to show. */
export function useSubmit() {
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (e) {
      setError(toFormError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, setError, busy, run };
}

const ErrorContext = createContext<FormError | null>(null);

/**
 * Form shows the fields, the refusal of the last save next to the field it
 * names, and at the top when it names none of fields.
 */
export function Form(props: {
  onSubmit: () => void;
  error: FormError | null;
  fields: string[];
  children: ComponentChildren;
  testid?: string;
  class?: string;
}) {
  const e = props.error;
  const general = e && (!e.field || !props.fields.includes(e.field));
  return (
    <form
      class={`admin-form ${props.class ?? ''}`}
      noValidate
      data-testid={props.testid}
      onSubmit={(ev) => {
        ev.preventDefault();
        props.onSubmit();
      }}
    >
      {general && (
        <div class="form-error" role="alert" data-testid="form-error">
          {e.message}
        </div>
      )}
      <ErrorContext.Provider value={e}>{props.children}</ErrorContext.Provider>
    </form>
  );
}

/** Field is one labelled control; the API's complaint about name shows under it. */
export function Field(props: { name: string; label: string; hint?: string; children: ComponentChildren; wide?: boolean }) {
  const e = useContext(ErrorContext);
  const mine = e?.field === props.name ? e.message : '';
  return (
    <label class={`field ${mine ? 'has-error' : ''} ${props.wide ? 'wide' : ''}`} data-field={props.name}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && !mine && <small class="hint">{props.hint}</small>}
      {mine && (
        <span class="field-error" role="alert" data-testid={`field-error-${props.name}`}>
          {mine}
        </span>
      )}
    </label>
  );
}

/** Text is a text input bound to a string. */
export function Text(props: {
  value: string;
  set: (v: string) => void;
  testid?: string;
  type?: string;
  placeholder?: string;
  disabled?: boolean;
  autoFocus?: boolean;
  inputMode?: string;
  autoComplete?: string;
}) {
  return (
    <input
      type={props.type ?? 'text'}
      value={props.value}
      placeholder={props.placeholder}
      disabled={props.disabled}
      autoFocus={props.autoFocus}
      inputMode={props.inputMode as any}
      autoComplete={props.autoComplete ?? 'off'}
      onInput={(e) => props.set((e.target as HTMLInputElement).value)}
      data-testid={props.testid}
    />
  );
}

/** Check is a checkbox with its label; the API's complaint about name shows beside it. */
export function Check(props: { name: string; label: string; checked: boolean; set: (v: boolean) => void; hint?: string }) {
  const e = useContext(ErrorContext);
  const mine = e?.field === props.name ? e.message : '';
  return (
    <label class="check field-check" data-field={props.name} title={props.hint}>
      <input type="checkbox" checked={props.checked} onChange={(ev) => props.set((ev.target as HTMLInputElement).checked)} data-testid={`check-${props.name}`} />
      {props.label}
      {mine && (
        <span class="field-error" role="alert" data-testid={`field-error-${props.name}`}>
          {mine}
        </span>
      )}
    </label>
  );
}

/**
 * numberOrRaw is what a numeric field sends: a number, nothing when empty,
 * or what was typed, so the API names the field it cannot read.
 */
export function numberOrRaw(s: string): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) && /^-?\d+(\.\d+)?$/.test(t) ? n : t;
}

/** lines splits a list typed one per line or comma-separated. */
export function lines(s: string): string[] {
  return s
    .split(/[\n,;]+/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

// ---- Loading ----

/** useResource reads path (and again on reload); rows are null until the first answer. */
export function useResource<T>(path: string, pick: (d: any) => T): { data: T | null; error: string; reload: () => Promise<void> } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const reload = async () => {
    try {
      const d = await get<any>(path);
      setData(pick(d));
      setError('');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  useEffect(() => {
    setData(null);
    void reload();
  }, [path]);
  return { data, error, reload };
}

// ---- Table ----

/** Column of a DataTable: value sorts and searches, render shows (default: value). */
export interface Column<T> {
  key: string;
  label: string;
  value: (r: T) => string | number;
  render?: (r: T) => ComponentChildren;
  num?: boolean;
}

/** DataTable lists rows; a header click sorts, the box above searches (when the list is long). */
export function DataTable<T>(props: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (r: T) => string;
  onOpen?: (r: T) => void;
  selected?: string;
  testid: string;
  empty?: string;
  searchFrom?: number;
}) {
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | null>(null);
  const [query, setQuery] = useState('');
  const searchable = props.rows.length >= (props.searchFrom ?? 8);
  const shown = useMemo(() => {
    let out = props.rows;
    const q = query.trim().toLowerCase();
    if (q) out = out.filter((r) => props.columns.some((c) => String(c.value(r)).toLowerCase().includes(q)));
    if (sort) {
      const col = props.columns.find((c) => c.key === sort.key);
      if (col) {
        out = [...out].sort((a, b) => {
          const x = col.value(a);
          const y = col.value(b);
          const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
          return d * sort.dir;
        });
      }
    }
    return out;
  }, [props.rows, props.columns, sort, query]);
  return (
    <div class="data-table">
      {searchable && (
        <input
          class="table-search"
          type="search"
          placeholder={`Search ${props.rows.length}…`}
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          data-testid={`${props.testid}-search`}
        />
      )}
      <table data-testid={props.testid}>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th
                key={c.key}
                class={`${c.num ? 'num' : ''} ${c.label ? 'sortable' : ''}`}
                aria-sort={sort?.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined}
                onClick={() => c.label && setSort(sort?.key === c.key ? { key: c.key, dir: sort.dir === 1 ? -1 : 1 } : { key: c.key, dir: 1 })}
              >
                {c.label}
                {sort?.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => {
            const k = props.rowKey(r);
            return (
              <tr
                key={k}
                data-key={k}
                class={`${props.onOpen ? 'clickable' : ''} ${props.selected === k ? 'selected' : ''}`}
                onClick={() => props.onOpen?.(r)}
                data-testid={`${props.testid}-row`}
              >
                {props.columns.map((c) => (
                  <td key={c.key} class={c.num ? 'num' : ''}>
                    {c.render ? c.render(r) : c.value(r)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {shown.length === 0 && <p class="empty">{props.rows.length === 0 ? props.empty ?? 'Nothing here yet.' : 'Nothing matches.'}</p>}
    </div>
  );
}

// ---- Delete ----

/** DeleteButton asks before it deletes; a refusal shows in the question. */
export function DeleteButton(props: { what: string; onDelete: () => Promise<unknown>; label?: string; small?: boolean }) {
  const [open, setOpen] = useState(false);
  const { error, busy, run } = useSubmit();
  return (
    <>
      <button type="button" class={`danger ${props.small ? 'small' : ''}`} onClick={() => setOpen(true)} data-testid="delete">
        {props.label ?? 'Delete'}
      </button>
      {open && (
        <Modal title="Delete?" onClose={() => setOpen(false)}>
          <p>Delete {props.what}? This cannot be undone.</p>
          {error && (
            <div class="form-error" role="alert" data-testid="form-error">
              {error.message}
            </div>
          )}
          <div class="dialog-buttons">
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={async () => {
                if (await run(props.onDelete)) setOpen(false);
              }}
              data-testid="confirm-delete"
            >
              Delete
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}

/** Panel is a titled box of the detail pane. */
export function Panel(props: { title: string; children: ComponentChildren; testid?: string; actions?: ComponentChildren }) {
  return (
    <section class="admin-panel" data-testid={props.testid}>
      <header>
        <h3>{props.title}</h3>
        <span class="spacer" />
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** SaveRow holds a form's buttons. */
export function SaveRow(props: { busy: boolean; label?: string; children?: ComponentChildren; saved?: boolean }) {
  return (
    <div class="save-row">
      <button type="submit" class="primary" disabled={props.busy} data-testid="save">
        {props.busy ? 'Saving…' : props.label ?? 'Save'}
      </button>
      {props.saved && (
        <span class="saved" role="status" data-testid="saved">
          Saved
        </span>
      )}
      <span class="spacer" />
      {props.children}
    </div>
  );
}

/** useSaved shows "Saved" for a moment after a save. */
export function useSaved(): [boolean, () => void] {
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!saved) return;
    const t = setTimeout(() => setSaved(false), 2500);
    return () => clearTimeout(t);
  }, [saved]);
  return [saved, () => setSaved(true)];
}
