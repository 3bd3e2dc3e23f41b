import { ApiError } from "../api/errors";
import { useI18n } from "../i18n/i18n";

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.fieldMessages();
    return fields.length ? `${error.message} (${fields.join("; ")})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {t("common.error", { message: errorMessage(error) })}
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          {t("common.retry")}
        </button>
      )}
    </div>
  );
}
