import { useEffect } from 'preact/hooks';
import { checked, me, notices, load } from './session';
import { route } from './router';
import { connection } from './live';
import { Header } from './components/header';
import { LoginPage } from './pages/login';
import { HomePage } from './pages/home';
import { ConsolePage } from './pages/console';
import { pages } from './pages/registry';

export function App() {
  useEffect(() => void load(), []);
  if (!checked.value) return <div class="loading">Loading…</div>;
  if (!me.value) return <LoginPage />;
  const r = route.value;
  let page;
  if (r.page === 'console') page = <ConsolePage id={Number(r.arg)} />;
  else if (pages.has(r.page)) {
    const P = pages.get(r.page)!;
    page = <P arg={r.arg} />;
  } else page = <HomePage />;
  return (
    <div class={`app ${connection.value !== 'live' ? 'not-live' : ''}`}>
      <Header />
      {connection.value === 'reconnecting' && (
        <div class="banner" role="status" data-testid="reconnecting">
          Connection to Switchboard lost — reconnecting. Calls shown may be out of date until it is back.
        </div>
      )}
      <main>{page}</main>
      <Overlays />
      <div class="notices" aria-live="polite">
        {notices.value.map((n) => (
          <div key={n.id} class={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.kind}`}>
            {n.text}
          </div>
        ))}
      </div>
    </div>
  );
}

/** Overlays shows the dialogs any page may need (wrap-up, RONA …), registered by their modules. */
function Overlays() {
  return (
    <>
      {[...overlays].map((O, i) => (
        <O key={i} />
      ))}
    </>
  );
}

import { overlays } from './pages/registry';
