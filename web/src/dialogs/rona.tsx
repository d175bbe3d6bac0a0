// The RONA pop-up (SPEC Q2, A1): a queue call the agent did not answer in
// time went back to the queue and the ACD set them to RONA, in which they
// get no calls until they choose Available or a break (PUT /api/me/agent,
// through session.setStatus). It shows as long as the state is rona; it
// cannot be dismissed without choosing, as in the reference desktop.

import { Modal } from '../components/modal';
import { agent, reasonCodes, setStatus } from '../session';
import { now, since } from '../live';
import { overlays } from '../pages/registry';
import './wrapup.css';

function RonaDialog() {
  const a = agent.value;
  if (a?.state !== 'rona') return null;
  const breaks = reasonCodes.value.filter((r) => r.kind === 'break');
  return (
    <Modal title="Call not answered" onClose={() => {}}>
      <div class="rona" data-testid="rona-dialog">
        <p>
          A queue call rang and was not answered in time; it went back to the queue. You get no calls until you choose
          a status. <span class="timer">{since(a.state_since, now.value)}</span>
        </p>
        <div class="rona-choices">
          <button class="primary" onClick={() => setStatus('available')} data-testid="rona-available">
            <span class="dot status-available" /> Available
          </button>
          {breaks.length === 0 && (
            <button onClick={() => setStatus('break')} data-testid="rona-break">
              <span class="dot status-break" /> Break
            </button>
          )}
          {breaks.map((r) => (
            <button key={r.code} onClick={() => setStatus('break', r.code)} data-testid={`rona-break-${r.code}`}>
              <span class="dot status-break" /> Break · {r.label}
            </button>
          ))}
        </div>
      </div>
    </Modal>
  );
}

overlays.add(RonaDialog);
