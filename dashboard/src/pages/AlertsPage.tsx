import { useState } from "react";
import { Link } from "react-router";
import { useAlerts } from "../alerts/AlertsContext";
import { useAuth } from "../auth/AuthContext";
import { formatDateTime, useI18n } from "../i18n/i18n";
import { AuthImage } from "../components/AuthImage";
import { SeverityBadge } from "../components/SeverityBadge";
import { cropPath } from "../api/client";
import { formatPlate } from "../lib/plates";
import type { Alert } from "../api/types";
import { errorMessage } from "../components/ErrorNote";

export function recordingLink(cameraId: string, at: string): string {
  return `/recordings?camera=${encodeURIComponent(cameraId)}&at=${encodeURIComponent(at)}`;
}

export function AlertsPage() {
  const { alerts, detections, soundOn, setSoundOn } = useAlerts();
  const { cameraName, timeZone } = useAuth();
  const { t, locale } = useI18n();
  const [onlyNew, setOnlyNew] = useState(false);
  const shown = onlyNew ? alerts.filter((a) => a.status === "new") : alerts;

  return (
    <section className="alerts-page">
      <div className="toolbar">
        <h1>{t("alerts.title")}</h1>
        <label className="check">
          <input type="checkbox" checked={onlyNew} onChange={(e) => setOnlyNew(e.target.checked)} />
          {t("alerts.onlyNew")}
        </label>
        <label className="check">
          <input type="checkbox" checked={soundOn} onChange={(e) => setSoundOn(e.target.checked)} />
          {t("alerts.sound")}
        </label>
      </div>
      <div className="two-col">
        <div>
          {shown.length === 0 && <p className="muted">{t("alerts.empty")}</p>}
          <ul className="alert-list" data-testid="alert-list">
            {shown.map((alert) => (
              <AlertCard key={alert.id} alert={alert} />
            ))}
          </ul>
        </div>
        <aside>
          <h2>{t("alerts.detections")}</h2>
          <ul className="detection-list">
            {detections.map((d) => (
              <li key={d.id} className="detection-item" data-testid="live-detection">
                <AuthImage src={d.crop_url ?? cropPath(d.id)} alt={d.plate} className="crop-small" />
                <div>
                  <strong className="plate">{formatPlate(d.plate)}</strong>
                  <div className="muted">
                    {cameraName(d.camera_id) ?? t("common.unknownCamera")} · {formatDateTime(d.detected_at, locale, timeZone)}
                  </div>
                </div>
              </li>
            ))}
          </ul>
        </aside>
      </div>
    </section>
  );
}

export function AlertCard({ alert, compact = false }: { alert: Alert; compact?: boolean }) {
  const { acknowledge, fresh, markSeen } = useAlerts();
  const { cameraName, timeZone, can, client } = useAuth();
  const { t, locale } = useI18n();
  const [busy, setBusy] = useState(false);
  const [clip, setClip] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const isFresh = fresh.includes(alert.id);

  async function ack() {
    setBusy(true);
    setError(null);
    try {
      await acknowledge(alert.id);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function playClip(path: string) {
    setError(null);
    try {
      setClip((await client.clipLink(path)).url);
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  const statusLabel =
    alert.status === "new" ? t("alerts.new") : alert.status === "retracted" ? t("alerts.retracted") : t("alerts.acked");

  return (
    <li
      className={`alert-card sev-border-${alert.severity} ${alert.status === "new" ? "is-new" : "is-acked"} ${isFresh ? "is-fresh" : ""}`}
      data-testid="alert-card"
      data-alert-id={alert.id}
      data-plate={alert.plate}
      data-status={alert.status}
      onMouseEnter={() => isFresh && markSeen(alert.id)}
    >
      <AuthImage src={alert.crop_url ?? cropPath(alert.detection_id)} alt={alert.plate} />
      <div className="alert-body">
        <div className="alert-head">
          <strong className="plate" data-testid="alert-plate">
            {formatPlate(alert.plate)}
          </strong>
          <SeverityBadge severity={alert.severity} />
          <span className={`status status-${alert.status}`}>{statusLabel}</span>
        </div>
        <div className="muted">
          {t("alerts.watchlistHit")}
          {alert.reason ? ` — ${alert.reason}` : ""}
        </div>
        <div>
          {cameraName(alert.camera_id) ?? t("common.unknownCamera")} ·{" "}
          <time dateTime={alert.raised_at}>{formatDateTime(alert.raised_at, locale, timeZone)}</time>
        </div>
        {!compact && (
          <div className="alert-links">
            <Link to={`/search?plate=${encodeURIComponent(alert.plate)}`}>{t("alerts.search")}</Link>
            <Link to={recordingLink(alert.camera_id, alert.raised_at)}>{t("alerts.recording")}</Link>
            {alert.clip_url && (
              <button type="button" className="link" data-testid="play-clip" onClick={() => playClip(alert.clip_url!)}>
                {t("alerts.clip")}
              </button>
            )}
          </div>
        )}
        {clip && <video className="event-clip" src={clip} controls autoPlay muted data-testid="event-clip" />}
        {error && <div className="error">{error}</div>}
      </div>
      {alert.status === "new" && can("alert.acknowledge") && (
        <button type="button" onClick={ack} disabled={busy} data-testid="ack">
          {t("alerts.ack")}
        </button>
      )}
    </li>
  );
}
