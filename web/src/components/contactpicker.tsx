// Choosing whom a widget follows: everyone, or users and queues ticked
// from the directory (the call list and the phonebook, SPEC C2, C3).

import { useEffect, useState } from 'preact/hooks';
import { directory, directoryError, ensureDirectory } from '../directory';
import './contactpicker.css';

/** Following is what a widget follows. */
export interface Following {
  follow_all: boolean;
  /** users by id */
  users: number[];
  /** queues by number */
  queues: string[];
}

/** textMatches: every field may hold the filter, case-insensitively (empty filter: all). */
export const textMatches = (s: string, ...fields: (string | undefined)[]) => !s || fields.some((f) => f && f.toLowerCase().includes(s));

const toggle = <T,>(list: T[], v: T) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

/** ContactPicker edits a Following: the "everyone" box, then users and queues with a filter. */
export function ContactPicker({ value, onChange }: { value: Following; onChange: (f: Following) => void }) {
  const [filter, setFilter] = useState('');
  useEffect(() => ensureDirectory(), []);
  const dir = directory.value;
  const f = filter.trim().toLowerCase();
  return (
    <>
      <label class="check">
        <input type="checkbox" checked={value.follow_all} onChange={(e) => onChange({ ...value, follow_all: (e.target as HTMLInputElement).checked })} data-testid="follow-all" />
        Follow everything in the organisation
      </label>
      <fieldset disabled={value.follow_all}>
        <input type="search" placeholder="Filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        {!dir && <p class="muted">{directoryError.value || 'Loading the directory…'}</p>}
        <div class="pb-pick">
          <div>
            <h3>Users</h3>
            {(dir?.users ?? [])
              .filter((u) => u.extensions.length > 0 && textMatches(f, u.display_name, u.username, ...u.extensions.map((x) => x.number)))
              .map((u) => (
                <label class="check" key={u.id}>
                  <input type="checkbox" checked={value.users.includes(u.id)} onChange={() => onChange({ ...value, users: toggle(value.users, u.id) })} data-testid="pb-pick-user" data-user-id={u.id} />
                  {u.display_name || u.username} <span class="muted">{u.extensions.map((x) => x.number).join(', ')}</span>
                </label>
              ))}
          </div>
          <div>
            <h3>Queues</h3>
            {(dir?.queues ?? [])
              .filter((q) => textMatches(f, q.name, q.number))
              .map((q) => (
                <label class="check" key={q.number}>
                  <input type="checkbox" checked={value.queues.includes(q.number)} onChange={() => onChange({ ...value, queues: toggle(value.queues, q.number) })} data-testid="pb-pick-queue" data-queue={q.number} />
                  {q.name} <span class="muted">{q.number}</span>
                </label>
              ))}
          </div>
        </div>
      </fieldset>
    </>
  );
}

/** ConfigButtons are a widget settings form's Cancel and Continue. */
export function ConfigButtons({ cancel }: { cancel: () => void }) {
  return (
    <div class="dialog-buttons">
      <button type="button" onClick={cancel}>
        Cancel
      </button>
      <button class="primary" type="submit" data-testid="widget-config-done">
        Continue
      </button>
    </div>
  );
}
