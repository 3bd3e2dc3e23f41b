import { useState, type FormEvent } from "react";
import { useAuth } from "../auth/AuthContext";
import { useI18n } from "../i18n/i18n";
import { ApiError } from "../api/errors";
import { Notice } from "./admin/common";
import { ErrorLines, NewPasswordFields } from "../components/PasswordFields";

/** The signed-in user's own password. The server asks for the current one (a stolen
 * token alone cannot take the account over), applies its password rules and ends the
 * user's other sessions; this tab continues with the new pair it answers. */
export function AccountPage() {
  const { t } = useI18n();
  const { session } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string[] | null>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(false);
    if (next !== confirm) {
      setError([t("invite.mismatch")]);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await session.changePassword(current, next);
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(true);
    } catch (err) {
      setError(messagesOf(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="account">
      <h1>{t("account.title")}</h1>
      <form className="card stack" onSubmit={submit} data-testid="password-change">
        <label>
          {t("account.current")}
          <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required data-testid="password-current" />
        </label>
        <NewPasswordFields
          label={t("account.new")}
          password={next}
          confirm={confirm}
          onPassword={setNext}
          onConfirm={setConfirm}
          passwordTestId="password-new"
          confirmTestId="password-confirm"
        />
        <ErrorLines lines={error} testId="password-error" />
        <Notice text={done ? t("account.changed") : null} />
        <p>
          <button type="submit" disabled={busy} data-testid="password-submit">
            {t("account.submit")}
          </button>
        </p>
      </form>
    </section>
  );
}

type Translate = ReturnType<typeof useI18n>["t"];

/** The server's field messages (wrong current password, password rules) or one line. */
function messagesOf(err: unknown, t: Translate): string[] {
  if (err instanceof ApiError) {
    const fields = [err.details.current_password, err.details.new_password].filter(Array.isArray);
    if (fields.length) return fields.flat().map(String);
    return [err.message];
  }
  return [t("common.error", { message: err instanceof Error ? err.message : String(err) })];
}
