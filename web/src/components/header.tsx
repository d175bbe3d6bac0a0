import { useState } from 'preact/hooks';
import { agent, me, reasonCodes, setStatus, logout, isAdmin } from '../session';
import { connection, now, since } from '../live';
import { route, go } from '../router';
import { PhoneButton } from '../phone/panel';

const statusLabels: Record<string, string> = {
  available: 'Available',
  break: 'Break',
  idle: 'Break',
  offline: 'Working offline',
  logged_out: 'Logged out',
};

const stateLabels: Record<string, string> = {
  idle: '',
  offered: 'Ringing',
  busy: 'Busy',
  wrap_up: 'Wrap-up',
  rona: 'RONA',
};

/** StatusControl is the agent's own status with reason code and time in state (A1, A2). */
export function StatusControl() {
  const a = agent.value;
  const [open, setOpen] = useState(false);
  if (!a) return null;
  const choose = async (status: string, reason?: string) => {
    setOpen(false);
    await setStatus(status, reason);
  };
  const breaks = reasonCodes.value.filter((r) => r.kind === 'break');
  const offline = reasonCodes.value.filter((r) => r.kind === 'offline');
  const reason = a.reason_code ? reasonCodes.value.find((r) => r.code === a.reason_code)?.label ?? a.reason_code : '';
  const stateLabel = stateLabels[a.state] ?? a.state;
  const shown = stateLabel ? a.state : a.status;
  return (
    <div class="status-control" data-testid="status-control">
      <button
        class={`status-button status-${shown}`}
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        data-testid="status-button"
      >
        <span class="dot" />
        <span data-testid="status-label">{stateLabel || statusLabels[a.status] || a.status}</span>
        {reason && !stateLabel && <span class="reason">· {reason}</span>}
        <span class="timer" data-testid="status-timer">
          {since(stateLabel ? a.state_since : a.status_since, now.value)}
        </span>
      </button>
      {open && (
        <div class="menu" role="menu">
          <button role="menuitem" onClick={() => choose('available')} data-testid="status-available">
            <span class="dot status-available" /> Available
          </button>
          {breaks.length === 0 && (
            <button role="menuitem" onClick={() => choose('break')}>
              <span class="dot status-break" /> Break
            </button>
          )}
          {breaks.map((r) => (
            <button role="menuitem" key={r.code} onClick={() => choose('break', r.code)} data-testid={`status-break-${r.code}`}>
              <span class="dot status-break" /> Break · {r.label}
            </button>
          ))}
          {offline.map((r) => (
            <button role="menuitem" key={r.code} onClick={() => choose('offline', r.code)} data-testid={`status-offline-${r.code}`}>
              <span class="dot status-offline" /> Working offline · {r.label}
            </button>
          ))}
          {offline.length === 0 && (
            <button role="menuitem" onClick={() => choose('offline')}>
              <span class="dot status-offline" /> Working offline
            </button>
          )}
          <button role="menuitem" onClick={() => choose('logged_out')} data-testid="status-logged_out">
            <span class="dot status-logged_out" /> Log out of queues
          </button>
        </div>
      )}
    </div>
  );
}

const connectionText: Record<string, string> = {
  offline: 'Offline',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

export function Header() {
  const m = me.value;
  if (!m) return null;
  const r = route.value;
  return (
    <header class="app-header">
      <a class="brand" href="#/">
        Switchboard
      </a>
      <nav>
        <a href="#/" class={r.page === 'home' || r.page === 'console' ? 'active' : ''}>
          Consoles
        </a>
        <a href="#/history" class={r.page === 'history' ? 'active' : ''}>
          History
        </a>
        {isAdmin.value && (
          <a href="#/admin/users" class={r.page === 'admin' ? 'active' : ''}>
            Admin
          </a>
        )}
      </nav>
      <span class="spacer" />
      <span class={`connection connection-${connection.value}`} data-testid="connection" title="Live event feed">
        {connectionText[connection.value]}
      </span>
      <PhoneButton />
      <StatusControl />
      <span class="user" title={m.user.role}>
        {m.user.display_name || m.user.username}
        {m.extensions.length > 0 && <small> · {m.extensions.join(', ')}</small>}
      </span>
      <button
        class="link"
        onClick={async () => {
          await logout();
          go('#/');
        }}
        data-testid="logout"
      >
        Log out
      </button>
    </header>
  );
}
