import { useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router";
import { useI18n } from "../i18n/i18n";
import { ApiError } from "../api/errors";
import { acceptInvitation, tokenFromHash } from "../api/invitations";
import { ErrorLines, NewPasswordFields } from "../components/PasswordFields";

/** The page an invitation link opens: the invitee chooses a password (the server's
 * password rules apply), then signs in as usual. */
export function AcceptInvitationPage({ fetchImpl }: { fetchImpl?: typeof fetch }) {
  const { t } = useI18n();
  const location = useLocation();
  const token = tokenFromHash(location.hash);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string[] | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== confirm) {
      setError([t("invite.mismatch")]);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setDone(await acceptInvitation(token, password, fetchImpl));
    } catch (err) {
      if (err instanceof ApiError && err.code === "invalid_invitation") setError([t("invite.invalid")]);
      else if (err instanceof ApiError && Array.isArray(err.details.password)) setError(err.details.password.map(String));
      else setError([t("common.error", { message: err instanceof Error ? err.message : String(err) })]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} data-testid="accept-invitation">
        <h2>{t("invite.acceptTitle")}</h2>
        {!token && <p className="error">{t("invite.invalid")}</p>}
        {done ? (
          <p data-testid="invite-accepted">
            {t("invite.accepted", { name: done })} <Link to="/login">{t("login.submit")}</Link>
          </p>
        ) : (
          <>
            <NewPasswordFields
              label={t("users.password")}
              password={password}
              confirm={confirm}
              onPassword={setPassword}
              onConfirm={setConfirm}
              passwordTestId="invite-password"
              confirmTestId="invite-confirm"
            />
            <ErrorLines lines={error} testId="invite-error" />
            <button type="submit" disabled={busy || !token} data-testid="invite-submit">
              {t("invite.submit")}
            </button>
          </>
        )}
      </form>
    </div>
  );
}
