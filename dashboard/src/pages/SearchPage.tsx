import { useEffect, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { formatDateTime, useI18n } from "../i18n/i18n";
import { parsePlateQuery, plateParam, formatPlate, type PlateMode } from "../lib/plates";
import type { Detection, Page } from "../api/types";
import { AuthImage } from "../components/AuthImage";
import { ErrorNote } from "../components/ErrorNote";
import { cropPath } from "../api/client";
import { zonedToUtc } from "../lib/time";
import { recordingLink } from "./AlertsPage";

const PAGE_SIZE = 25;

/** "2025-03-05T14:00" (datetime-local, tenant zone) → ISO UTC. */
function localToIso(value: string, timeZone: string): string | undefined {
  if (!value) return undefined;
  const [day, time] = value.split("T");
  if (!day || !time) return undefined;
  return zonedToUtc(day, time.length === 5 ? `${time}:00` : time, timeZone).toISOString();
}

export function SearchPage() {
  const { client, cameras, cameraName, timeZone } = useAuth();
  const { t, locale } = useI18n();
  const [params, setParams] = useSearchParams();
  const [plate, setPlate] = useState(params.get("plate") ?? "");
  const [mode, setMode] = useState<PlateMode>((params.get("mode") as PlateMode) || "exact");
  const [camera, setCamera] = useState(params.get("camera") ?? "");
  const [from, setFrom] = useState(params.get("from") ?? "");
  const [to, setTo] = useState(params.get("to") ?? "");
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<Page<Detection> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [validation, setValidation] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(targetPage = 1) {
    const query = parsePlateQuery(plate, mode);
    if (plate.trim() && typeof query === "string") {
      setValidation(t(`search.error.${query}`));
      return;
    }
    setValidation(null);
    setBusy(true);
    setError(null);
    try {
      const res = await client.detections({
        plate: typeof query === "string" ? undefined : plateParam(query),
        camera_id: camera || undefined,
        start: localToIso(from, timeZone),
        end: localToIso(to, timeZone),
        page: targetPage,
        page_size: PAGE_SIZE,
      });
      setResult(res);
      setPage(targetPage);
      const next = new URLSearchParams();
      if (plate.trim()) next.set("plate", plate.trim());
      if (mode !== "exact") next.set("mode", mode);
      if (camera) next.set("camera", camera);
      if (from) next.set("from", from);
      if (to) next.set("to", to);
      setParams(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  // A link with ?plate= (from an alert) searches at once.
  useEffect(() => {
    if (params.get("plate")) void run(1);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function submit(event: FormEvent) {
    event.preventDefault();
    void run(1);
  }

  const pages = result ? Math.max(1, Math.ceil(result.count / PAGE_SIZE)) : 1;

  return (
    <section>
      <h1>{t("search.title")}</h1>
      <form className="filters" onSubmit={submit}>
        <label>
          {t("search.plate")}
          <input
            name="plate"
            value={plate}
            onChange={(e) => setPlate(e.target.value)}
            placeholder="ABC1D23"
            data-testid="search-plate"
            autoCapitalize="characters"
          />
        </label>
        <label>
          {t("search.mode")}
          <select value={mode} onChange={(e) => setMode(e.target.value as PlateMode)} data-testid="search-mode">
            <option value="exact">{t("search.mode.exact")}</option>
            <option value="prefix">{t("search.mode.prefix")}</option>
            <option value="similar">{t("search.mode.similar")}</option>
          </select>
        </label>
        <label>
          {t("common.camera")}
          <select value={camera} onChange={(e) => setCamera(e.target.value)}>
            <option value="">{t("common.allCameras")}</option>
            {cameras.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("common.from")}
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          {t("common.to")}
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" disabled={busy} data-testid="search-submit">
          {t("search.submit")}
        </button>
      </form>
      <p className="muted small">{t("search.hint")}</p>
      {validation && (
        <div className="error" role="alert">
          {validation}
        </div>
      )}
      <ErrorNote error={error} />
      {result && (
        <>
          <p data-testid="search-count">{t("search.results", { count: result.count })}</p>
          {result.items.length === 0 && <p className="muted">{t("common.none")}</p>}
          <ul className="result-grid" data-testid="search-results">
            {result.items.map((d) => (
              <li key={d.id} className="result" data-testid="search-result" data-plate={d.plate}>
                <AuthImage src={d.crop_url ?? cropPath(d.id)} alt={d.plate} />
                <div>
                  <strong className="plate">{formatPlate(d.plate)}</strong>
                  <div>{cameraName(d.camera_id) ?? t("common.unknownCamera")}</div>
                  <div className="muted">{formatDateTime(d.detected_at, locale, timeZone)}</div>
                  <div className="muted small">
                    {t("search.confidence")}: {(d.confidence * 100).toFixed(0)}%
                    {d.score != null && ` · ${t("search.score")}: ${(d.score * 100).toFixed(0)}%`}
                  </div>
                  <Link to={recordingLink(d.camera_id, d.detected_at)} data-testid="open-recording">
                    {t("search.openRecording")}
                  </Link>
                </div>
              </li>
            ))}
          </ul>
          {pages > 1 && (
            <div className="pager">
              <button type="button" className="secondary" disabled={page <= 1 || busy} onClick={() => void run(page - 1)}>
                {t("common.previous")}
              </button>
              <span>{t("common.page", { page, pages })}</span>
              <button type="button" className="secondary" disabled={page >= pages || busy} onClick={() => void run(page + 1)}>
                {t("common.next")}
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}
