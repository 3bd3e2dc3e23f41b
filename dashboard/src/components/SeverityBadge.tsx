import type { Severity } from "../api/types";
import { useI18n } from "../i18n/i18n";

export function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useI18n();
  return <span className={`sev sev-${severity}`}>{t(`severity.${severity}`)}</span>;
}
