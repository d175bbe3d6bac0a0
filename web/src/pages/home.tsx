import { useEffect, useState } from 'preact/hooks';
import { createConsole, listConsoles, type ConsoleDoc, type PlacedWidget } from '../consoles';
import { act, agent, isSupervisor } from '../session';
import { go } from '../router';

// A first console, so a new user sees something useful at once: an agent
// gets their desktop, a receptionist or supervisor an operator console.
function starterLayout(): PlacedWidget[] {
  const w = (type: string, x: number, y: number, ww: number, h: number, config: Record<string, unknown> = {}): PlacedWidget => ({
    id: `${type}-${x}-${y}`,
    type,
    x,
    y,
    w: ww,
    h,
    config,
  });
  if (agent.value && !isSupervisor.value) return [w('mycalls', 0, 0, 5, 6), w('history', 5, 0, 7, 6)];
  return [w('mycalls', 0, 0, 4, 6), w('calls', 4, 0, 8, 6, { follow_all: true }), w('phonebook', 0, 6, 4, 6, { follow_all: true })];
}

/** HomePage lists the user's consoles and creates new ones (SPEC C1). */
export function HomePage() {
  const [list, setList] = useState<ConsoleDoc[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const reload = () => listConsoles().then(setList, (e) => setError(e.message));
  useEffect(() => void reload(), []);
  const create = async (n: string, layout: PlacedWidget[] = []) => {
    let created: ConsoleDoc | null = null;
    if (await act('Create console', async () => (created = await createConsole(n, layout)))) go(`#/console/${created!.id}`);
  };
  if (error) return <div class="page-error">{error}</div>;
  if (!list) return <div class="loading">Loading…</div>;
  return (
    <div class="home-page">
      <h1>Your consoles</h1>
      {list.length === 0 && (
        <p class="hint">
          You have no console yet.{' '}
          <button class="primary" onClick={() => create(agent.value && !isSupervisor.value ? 'My desktop' : 'Operator console', starterLayout())} data-testid="create-starter">
            Create a starter console
          </button>
        </p>
      )}
      <ul class="console-list" data-testid="console-list">
        {list.map((c) => (
          <li key={c.id}>
            <a href={`#/console/${c.id}`}>{c.name}</a>
            <small>{c.layout?.length ?? 0} widgets</small>
          </li>
        ))}
      </ul>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) void create(name.trim());
        }}
      >
        <input placeholder="New console name" value={name} maxLength={80} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="new-console-name" />
        <button type="submit" disabled={!name.trim()} data-testid="new-console">
          Create console
        </button>
      </form>
    </div>
  );
}
