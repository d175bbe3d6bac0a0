// Users (SPEC X1, X2): console accounts with their role and permission
// profile (outdial, keypad dialling, recording, caller IDs, the operator
// console), and what an operator's call list follows.

import { useState } from 'preact/hooks';
import { del, patch, post, put } from '../api';
import { go } from '../router';
import { me } from '../session';
import type { SectionProps } from './admin';
import { Check, DataTable, DeleteButton, Field, Form, Panel, SaveRow, Text, lines, useResource, useSaved, useSubmit, type AdminUser, type Extension, type Queue } from './ui';

const roles = ['agent', 'operator', 'supervisor', 'admin'];

export function UsersSection({ item }: SectionProps) {
  const users = useResource('/api/users', (d) => (d.users ?? []) as AdminUser[]);
  const exts = useResource('/api/extensions', (d) => (d.extensions ?? []) as Extension[]);
  const extsOf = (id: number) =>
    (exts.data ?? [])
      .filter((e) => e.user_id === id)
      .map((e) => e.number)
      .join(', ');
  const sel = item === 'new' ? null : (users.data ?? []).find((u) => String(u.id) === item);
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>Users</h1>
        <span class="spacer" />
        <button class="primary" onClick={() => go('#/admin/users/new')} data-testid="new-user">
          New user
        </button>
      </div>
      {users.error && <div class="form-error">{users.error}</div>}
      <div class="admin-split">
        <div class="admin-list">
          {users.data ? (
            <DataTable
              testid="users-table"
              rows={users.data}
              rowKey={(u) => String(u.id)}
              selected={item}
              onOpen={(u) => go(`#/admin/users/${u.id}`)}
              columns={[
                { key: 'username', label: 'Username', value: (u) => u.username },
                { key: 'name', label: 'Name', value: (u) => u.display_name },
                { key: 'role', label: 'Role', value: (u) => u.role },
                { key: 'ext', label: 'Extensions', value: (u) => extsOf(u.id) },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          {item === 'new' && (
            <UserEditor
              key="new"
              user={null}
              onSaved={async (u) => {
                await users.reload();
                go(`#/admin/users/${u.id}`);
              }}
            />
          )}
          {sel && (
            <>
              <UserEditor key={sel.id} user={sel} onSaved={() => users.reload()} extensions={extsOf(sel.id)} />
              {sel.role !== 'admin' && <FollowsEditor key={`f${sel.id}`} user={sel} users={users.data ?? []} />}
            </>
          )}
          {item && item !== 'new' && users.data && !sel && <p class="empty">No such user.</p>}
          {!item && <p class="empty">Choose a user to edit, or create one.</p>}
        </div>
      </div>
    </div>
  );
}

function UserEditor({ user, onSaved, extensions }: { user: AdminUser | null; onSaved: (u: AdminUser) => void; extensions?: string }) {
  const p = user?.profile;
  const [username, setUsername] = useState(user?.username ?? '');
  const [name, setName] = useState(user?.display_name ?? '');
  const [role, setRole] = useState(user?.role ?? 'agent');
  const [password, setPassword] = useState('');
  const [outdial, setOutdial] = useState(p?.can_outdial ?? true);
  const [keypad, setKeypad] = useState(p?.can_keypad_dial ?? true);
  const [recording, setRecording] = useState(p?.can_control_recording ?? false);
  const [console_, setConsole] = useState(p?.can_use_console ?? true);
  const [anis, setAnis] = useState((p?.allowed_anis ?? []).join('\n'));
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  // The console permission exists once the API reports it on users.
  const hasConsolePerm = user ? p?.can_use_console !== undefined : true;
  const save = () =>
    run(async () => {
      const profile: Record<string, unknown> = {
        can_outdial: outdial,
        can_keypad_dial: keypad,
        can_control_recording: recording,
        allowed_anis: lines(anis),
      };
      if (hasConsolePerm) profile.can_use_console = console_;
      let u: AdminUser;
      if (user) {
        const body: Record<string, unknown> = { display_name: name, profile };
        if (role !== user.role) body.role = role;
        if (password !== '') body.password = password;
        u = await patch<AdminUser>(`/api/users/${user.id}`, body);
      } else {
        u = await post<AdminUser>('/api/users', { username, display_name: name, role, password, profile });
      }
      setPassword('');
      markSaved();
      onSaved(u);
    });
  const self = user && user.id === me.value?.user.id;
  return (
    <Panel title={user ? `User ${user.username}` : 'New user'} testid="user-editor">
      <Form onSubmit={save} error={error} fields={['username', 'display_name', 'role', 'password', 'profile', 'can_outdial', 'can_keypad_dial', 'can_control_recording', 'can_use_console']}>
        <div class="form-grid">
          <Field name="username" label="Username">
            <Text value={username} set={setUsername} disabled={!!user} testid="user-username" autoFocus={!user} />
          </Field>
          <Field name="display_name" label="Display name">
            <Text value={name} set={setName} testid="user-display-name" />
          </Field>
          <Field name="role" label="Role">
            <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)} disabled={!!self} data-testid="user-role">
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
          <Field name="password" label={user ? 'New password' : 'Password'} hint={user ? 'Leave empty to keep the current one; a new one ends the user’s sessions.' : 'At least 8 characters.'}>
            <Text type="password" value={password} set={setPassword} testid="user-password" autoComplete="new-password" />
          </Field>
        </div>
        <fieldset class="profile">
          <legend>Permissions</legend>
          <Check name="can_outdial" label="May call external numbers (outdial)" checked={outdial} set={setOutdial} />
          <Check name="can_keypad_dial" label="May dial from the console keypad (click-to-call)" checked={keypad} set={setKeypad} />
          <Check name="can_control_recording" label="May start, stop and pause recordings" checked={recording} set={setRecording} />
          {hasConsolePerm && <Check name="can_use_console" label="May use the operator console" checked={console_} set={setConsole} />}
          <Field name="profile" label="Caller IDs (ANIs) the user may present" hint="One number per line; empty: only the extension’s DID." wide>
            <textarea rows={3} value={anis} onInput={(e) => setAnis((e.target as HTMLTextAreaElement).value)} data-testid="user-anis" />
          </Field>
        </fieldset>
        {user && extensions !== undefined && <p class="hint">Extensions: {extensions || 'none'} (assign them under Extensions).</p>}
        <SaveRow busy={busy} label={user ? 'Save' : 'Create user'} saved={saved}>
          {user && !self && (
            <DeleteButton
              what={`user ${user.username}`}
              onDelete={async () => {
                await del(`/api/users/${user.id}`);
                go('#/admin/users');
                onSaved(user);
              }}
            />
          )}
        </SaveRow>
      </Form>
    </Panel>
  );
}

/** FollowsEditor: the users and queues whose calls the user's call list shows (none: everything they may see). */
function FollowsEditor({ user, users }: { user: AdminUser; users: AdminUser[] }) {
  const follows = useResource(`/api/users/${user.id}/follows`, (d) => ({ users: (d.users ?? []) as number[], queues: (d.queues ?? []) as string[] }));
  const queues = useResource('/api/queues', (d) => (d.queues ?? []) as Queue[]);
  if (!follows.data || !queues.data) return <Panel title="Follows">{follows.error || queues.error || <div class="loading">Loading…</div>}</Panel>;
  return <FollowsForm key={user.id} user={user} users={users} queues={queues.data} initial={follows.data} />;
}

function FollowsForm(props: { user: AdminUser; users: AdminUser[]; queues: Queue[]; initial: { users: number[]; queues: string[] } }) {
  const [us, setUs] = useState(new Set(props.initial.users));
  const [qs, setQs] = useState(new Set(props.initial.queues));
  const { error, busy, run } = useSubmit();
  const [saved, markSaved] = useSaved();
  const toggle = <T,>(s: Set<T>, v: T, set: (s: Set<T>) => void) => {
    const n = new Set(s);
    if (n.has(v)) n.delete(v);
    else n.add(v);
    set(n);
  };
  return (
    <Panel title="Follows" testid="follows-editor">
      <p class="hint">The users and queues whose calls this user’s call list and events follow. None chosen: everything the role may see.</p>
      <Form
        onSubmit={() =>
          run(async () => {
            await put(`/api/users/${props.user.id}/follows`, { users: [...us], queues: [...qs] });
            markSaved();
          })
        }
        error={error}
        fields={[]}
      >
        <div class="follow-columns">
          <div>
            <h4>Users</h4>
            <div class="check-list">
              {props.users
                .filter((u) => u.id !== props.user.id)
                .map((u) => (
                  <label class="check" key={u.id}>
                    <input type="checkbox" checked={us.has(u.id)} onChange={() => toggle(us, u.id, setUs)} data-testid={`follow-user-${u.username}`} />
                    {u.display_name || u.username}
                  </label>
                ))}
            </div>
          </div>
          <div>
            <h4>Queues</h4>
            <div class="check-list">
              {props.queues.map((q) => (
                <label class="check" key={q.number}>
                  <input type="checkbox" checked={qs.has(q.number)} onChange={() => toggle(qs, q.number, setQs)} data-testid={`follow-queue-${q.number}`} />
                  {q.number} {q.name}
                </label>
              ))}
              {props.queues.length === 0 && <span class="muted">No queues.</span>}
            </div>
          </div>
        </div>
        <SaveRow busy={busy} label="Save follows" saved={saved} />
      </Form>
    </Panel>
  );
}

