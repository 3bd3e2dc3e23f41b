import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { useI18n, LOCALES, type Locale } from "../i18n/i18n";
import { ApiError } from "../api/errors";
import { primeAudio } from "../alerts/beep";

export function LoginPage() {
  const { status, login } = useAuth();
  const { t, locale, setLocale } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const from = (location.state as { from?: string } | null)?.from ?? "/live";

  if (status === "signed-in") return <Navigate to={from} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    primeAudio();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
      navigate(from, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) setError(t("login.throttled"));
      else if (err instanceof ApiError && (err.status === 401 || err.status === 400)) setError(t("login.failed"));
      else setError(t("common.error", { message: err instanceof Error ? err.message : String(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="login-brand">
          <span className="logo" aria-hidden>
            ◉
          </span>
          <div>
            <h1 id="login-title">{t("app.name")}</h1>
            <p>{t("app.tagline")}</p>
          </div>
        </div>
        <h2>{t("login.title")}</h2>
        <label>
          {t("login.username")}
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            autoFocus
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error && (
          <div className="error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy} data-testid="login-submit">
          {busy ? t("login.submitting") : t("login.submit")}
        </button>
        <div className="login-locale">
          {LOCALES.map((l) => (
            <button
              key={l}
              type="button"
              className={`link ${l === locale ? "active" : ""}`}
              onClick={() => setLocale(l as Locale)}
            >
              {l === "pt-BR" ? "Português" : "English"}
            </button>
          ))}
        </div>
      </form>
    </div>
  );
}
