import { useState } from 'preact/hooks';
import { login } from '../session';
import { ApiError } from '../api';

export function LoginPage() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="login-page">
      <form
        class="login-box"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            await login(username.trim(), password);
          } catch (err) {
            setError(err instanceof ApiError && err.status === 401 ? 'Wrong user name or password.' : (err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Switchboard</h1>
        <label>
          User name or extension
          <input name="username" autoComplete="username" value={username} autoFocus onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy || !username || !password} data-testid="login-submit">
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
