import { useI18n } from "../i18n/i18n";

/** A new password and its confirmation (the pages that set one compare the two). */
export function NewPasswordFields({
  label,
  password,
  confirm,
  onPassword,
  onConfirm,
  passwordTestId,
  confirmTestId,
}: {
  label: string;
  password: string;
  confirm: string;
  onPassword: (value: string) => void;
  onConfirm: (value: string) => void;
  passwordTestId: string;
  confirmTestId: string;
}) {
  const { t } = useI18n();
  return (
    <>
      <label>
        {label}
        <input type="password" autoComplete="new-password" value={password} onChange={(e) => onPassword(e.target.value)} required data-testid={passwordTestId} />
      </label>
      <label>
        {t("invite.confirm")}
        <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => onConfirm(e.target.value)} required data-testid={confirmTestId} />
      </label>
    </>
  );
}

/** The server's (or the form's own) messages, one per line. */
export function ErrorLines({ lines, testId }: { lines: string[] | null; testId: string }) {
  if (!lines) return null;
  return (
    <div className="error" role="alert" data-testid={testId}>
      {lines.map((line) => (
        <div key={line}>{line}</div>
      ))}
    </div>
  );
}
