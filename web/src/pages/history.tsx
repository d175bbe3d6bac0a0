// #/history (SPEC D6, R2): the interaction history with filters — by user
// and queue for supervisors and admins (the API scopes what each may see),
// a time range for everyone — and the same rows as a CSV download.

import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { isAdmin, isSupervisor, me } from '../session';
import { HistoryTable, useInteractions } from '../widgets/history';

interface Person {
  id: number;
  username: string;
  display_name: string;
}

/** toISO turns a datetime-local value (local time) into RFC 3339 for the API. */
function toISO(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function HistoryPage(_: { arg: string }) {
  const manager = isSupervisor.value;
  const [user, setUser] = useState('');
  const [queue, setQueue] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [limit, setLimit] = useState('100');
  const [people, setPeople] = useState<Person[]>([]);
  const [queues, setQueues] = useState<string[]>([]);
  useEffect(() => {
    if (!manager) return;
    // Admins list users and queues through the configuration API; a
    // supervisor picks from the directory and the queues they supervise.
    const users = isAdmin.value ? get<{ users: Person[] }>('/api/users') : get<{ users: Person[] }>('/api/directory');
    users.then((d) => setPeople(d.users ?? []), () => setPeople([]));
    if (isAdmin.value) get<{ queues: { number: string }[] }>('/api/queues').then((d) => setQueues((d.queues ?? []).map((q) => q.number)), () => {});
    else setQueues(((me.value as any)?.supervised_queues as string[]) ?? []);
  }, [manager]);
  const q = new URLSearchParams();
  if (user) q.set('user', user);
  if (queue) q.set('queue', queue);
  if (toISO(since)) q.set('since', toISO(since));
  if (toISO(until)) q.set('until', toISO(until));
  q.set('limit', limit);
  const query = q.toString();
  const { rows, error, loading } = useInteractions(query);
  return (
    <div class="history-page">
      <div class="history-head">
        <h1>Call history</h1>
        <span class="spacer" />
        {loading && <span class="muted">Loading…</span>}
        <a class="button" href={`/api/interactions?${query}&format=csv`} download="interactions.csv" data-testid="history-csv">
          Download CSV
        </a>
      </div>
      <form class="history-filters" onSubmit={(e) => e.preventDefault()} data-testid="history-filters">
        {manager && (
          <label>
            User
            <select value={user} onChange={(e) => setUser((e.target as HTMLSelectElement).value)} data-testid="history-user">
              <option value="">{isAdmin.value ? 'Everyone' : 'Everyone I may see'}</option>
              <option value={String(me.value?.user.id ?? '')}>Me</option>
              {people
                .filter((p) => p.id !== me.value?.user.id)
                .map((p) => (
                  <option key={p.id} value={String(p.id)}>
                    {p.display_name || p.username}
                  </option>
                ))}
            </select>
          </label>
        )}
        {manager && (
          <label>
            Queue
            <select value={queue} onChange={(e) => setQueue((e.target as HTMLSelectElement).value)} data-testid="history-queue">
              <option value="">All</option>
              {queues.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          From
          <input type="datetime-local" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} data-testid="history-since" />
        </label>
        <label>
          Until
          <input type="datetime-local" value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} data-testid="history-until" />
        </label>
        <label>
          Show
          <select value={limit} onChange={(e) => setLimit((e.target as HTMLSelectElement).value)}>
            {['50', '100', '500', '2000'].map((n) => (
              <option key={n} value={n}>
                {n} calls
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && (
        <div class="form-error" role="alert">
          {error}
        </div>
      )}
      {rows ? <HistoryTable rows={rows} /> : !error && <div class="loading">Loading…</div>}
    </div>
  );
}
