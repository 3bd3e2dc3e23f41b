import { Link } from "react-router";
import { useAlerts } from "../alerts/AlertsContext";
import { useAuth } from "../auth/AuthContext";
import { formatTime, useI18n } from "../i18n/i18n";
import { formatPlate } from "../lib/plates";
import { SeverityBadge } from "./SeverityBadge";

/** The visual cue of a watchlist hit, on every page, until seen or acknowledged. */
export function AlertToast() {
  const { alerts, fresh, markSeen } = useAlerts();
  const { cameraName, timeZone } = useAuth();
  const { t, locale } = useI18n();
  const latest = alerts.find((a) => fresh.includes(a.id) && a.status === "new");
  if (!latest) return null;
  return (
    <div className={`toast sev-border-${latest.severity}`} role="alert" data-testid="alert-toast" data-plate={latest.plate}>
      <div>
        <strong>{t("alerts.watchlistHit")}</strong> <SeverityBadge severity={latest.severity} />
      </div>
      <div className="plate big">{formatPlate(latest.plate)}</div>
      <div>
        {cameraName(latest.camera_id) ?? t("common.unknownCamera")} · {formatTime(latest.raised_at, locale, timeZone)}
      </div>
      <div className="toast-actions">
        <Link to="/alerts" onClick={() => markSeen(latest.id)}>
          {t("nav.alerts")}
        </Link>
        <button type="button" className="link" onClick={() => markSeen(latest.id)}>
          {t("common.close")}
        </button>
      </div>
    </div>
  );
}
