import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type MouseEvent } from "react";
import { useSearchParams } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { formatTime, useI18n } from "../i18n/i18n";
import type { ExportJob, Recording } from "../api/types";
import { ErrorNote, errorMessage } from "../components/ErrorNote";
import { zonedDay, zonedDayRange, zonedTime, zonedToUtc } from "../lib/time";
import { instantAt, mergeSpans, nextSegment, segmentAt } from "../lib/timeline";

const EXPORT_POLL_MS = 2_000;

export function RecordingsPage() {
  const { client, cameras, timeZone, can } = useAuth();
  const { t, locale } = useI18n();
  const [params, setParams] = useSearchParams();
  const at = params.get("at");
  const cameraId = params.get("camera") ?? cameras[0]?.id ?? "";
  const day = params.get("day") ?? zonedDay(at ? new Date(at) : new Date(), timeZone);
  const { start: dayStartDate, end: dayEndDate } = useMemo(() => zonedDayRange(day, timeZone), [day, timeZone]);
  const dayStart = dayStartDate.getTime();
  const dayEnd = dayEndDate.getTime();

  const [recordings, setRecordings] = useState<Recording[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [current, setCurrent] = useState<{ recording: Recording; offsetSeconds: number } | null>(null);
  const [playUrl, setPlayUrl] = useState<string | null>(null);
  const [playhead, setPlayhead] = useState<number | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const videoRef = useRef<HTMLVideoElement>(null);

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  const load = useCallback(async () => {
    if (!cameraId) return;
    setRecordings(null);
    setLoadError(null);
    try {
      setRecordings(await client.allRecordings(cameraId, dayStartDate.toISOString(), dayEndDate.toISOString()));
    } catch (err) {
      setLoadError(err);
      setRecordings([]);
    }
  }, [client, cameraId, dayStartDate, dayEndDate]);

  useEffect(() => {
    setCurrent(null);
    setPlayUrl(null);
    void load();
  }, [load]);

  const play = useCallback(
    async (target: { recording: Recording; offsetSeconds: number }) => {
      setMessage(null);
      try {
        const pb = await client.playback(target.recording.id);
        setCurrent(target);
        setPlayUrl(pb.url);
        setMessage(t("rec.playingFrom", { time: formatTime(new Date(Date.parse(target.recording.started_at) + target.offsetSeconds * 1000), locale, timeZone) }));
      } catch (err) {
        setMessage(t("common.error", { message: errorMessage(err) }));
      }
    },
    [client, t, locale, timeZone],
  );

  const playInstant = useCallback(
    (instant: number) => {
      if (!recordings) return;
      const target = segmentAt(recordings, instant);
      if (!target) {
        setMessage(t("rec.noRecordingAt", { time: formatTime(new Date(instant), locale, timeZone) }));
        return;
      }
      void play(target);
    },
    [recordings, play, t, locale, timeZone],
  );

  // Arriving from an alert or a search result: play that moment (a few seconds before).
  const autoPlayed = useRef<string | null>(null);
  useEffect(() => {
    if (!at || !recordings || autoPlayed.current === `${cameraId}|${at}`) return;
    autoPlayed.current = `${cameraId}|${at}`;
    playInstant(Date.parse(at) - 3_000);
  }, [at, recordings, cameraId, playInstant]);

  // Seek once the segment's metadata is known; continue into the next segment at its end.
  useEffect(() => {
    const video = videoRef.current;
    if (!video || !playUrl || !current) return;
    const onMeta = () => {
      if (current.offsetSeconds > 0 && current.offsetSeconds < (video.duration || Infinity)) video.currentTime = current.offsetSeconds;
      void video.play().catch(() => undefined);
    };
    const onTime = () => setPlayhead(Date.parse(current.recording.started_at) + video.currentTime * 1000);
    const onEnded = () => {
      const next = recordings ? nextSegment(recordings, current.recording) : null;
      if (next) void play({ recording: next, offsetSeconds: 0 });
    };
    video.addEventListener("loadedmetadata", onMeta);
    video.addEventListener("timeupdate", onTime);
    video.addEventListener("ended", onEnded);
    return () => {
      video.removeEventListener("loadedmetadata", onMeta);
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("ended", onEnded);
    };
  }, [playUrl, current, recordings, play]);

  function onTimelineClick(event: MouseEvent<HTMLDivElement>) {
    const rect = event.currentTarget.getBoundingClientRect();
    playInstant(instantAt((event.clientX - rect.left) / rect.width, dayStart, dayEnd));
  }

  const blocks = useMemo(() => (recordings ? mergeSpans(recordings) : []), [recordings]);
  const total = dayEnd - dayStart;
  const hours = Math.round(total / 3_600_000);

  return (
    <section className="recordings">
      <h1>{t("rec.title")}</h1>
      <div className="filters">
        <label>
          {t("common.camera")}
          <select value={cameraId} onChange={(e) => update({ camera: e.target.value, at: null })} data-testid="rec-camera">
            {cameras.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("rec.day")}
          <input type="date" value={day} onChange={(e) => update({ day: e.target.value, at: null })} data-testid="rec-day" />
        </label>
      </div>
      {!cameraId && <p className="muted">{t("rec.selectCamera")}</p>}
      <ErrorNote error={loadError} onRetry={() => void load()} />
      {recordings === null && cameraId && <p className="muted">{t("common.loading")}</p>}
      {recordings && (
        <>
          <p className="muted" data-testid="rec-count">
            {recordings.length ? t("rec.segments", { count: recordings.length }) : t("rec.noSegments")} · {t("rec.clickTimeline")}
          </p>
          <div className="timeline" onClick={onTimelineClick} data-testid="timeline" role="slider" aria-valuemin={0} aria-valuemax={hours} aria-valuenow={0}>
            {blocks.map((b) => {
              const s = Math.max(b.start, dayStart);
              const e = Math.min(b.end, dayEnd);
              if (e <= s) return null;
              return (
                <div
                  key={b.start}
                  className="segment"
                  style={{ left: `${((s - dayStart) / total) * 100}%`, width: `${Math.max(0.15, ((e - s) / total) * 100)}%` }}
                />
              );
            })}
            {playhead !== null && playhead >= dayStart && playhead <= dayEnd && (
              <div className="playhead" style={{ left: `${((playhead - dayStart) / total) * 100}%` }} />
            )}
            {Array.from({ length: hours + 1 }, (_, h) => (
              <span key={h} className="tick" style={{ left: `${(h / hours) * 100}%` }}>
                {h % 3 === 0 && h < hours ? `${String(h).padStart(2, "0")}h` : ""}
              </span>
            ))}
          </div>
        </>
      )}
      {message && <p data-testid="rec-message">{message}</p>}
      <video ref={videoRef} className="playback" controls src={playUrl ?? undefined} data-testid="playback-video" playsInline muted />
      {can("export.request") && cameraId && (
        <ExportPanel cameraId={cameraId} day={day} defaultAt={playhead ?? (at ? Date.parse(at) : null)} />
      )}
    </section>
  );
}

function ExportPanel({ cameraId, day, defaultAt }: { cameraId: string; day: string; defaultAt: number | null }) {
  const { client, timeZone } = useAuth();
  const { t } = useI18n();
  const initial = defaultAt ? zonedTime(new Date(defaultAt - 30_000), timeZone) : "12:00:00";
  const initialEnd = defaultAt ? zonedTime(new Date(defaultAt + 30_000), timeZone) : "12:05:00";
  const [from, setFrom] = useState(initial);
  const [to, setTo] = useState(initialEnd);
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState(false);

  useEffect(() => {
    if (!job || job.status === "done" || job.status === "failed") return;
    const timer = window.setTimeout(() => {
      client
        .exportJob(job.id)
        .then(setJob)
        .catch((err: unknown) => setError(err));
    }, EXPORT_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [job, client]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const start = zonedToUtc(day, from.length === 5 ? `${from}:00` : from, timeZone);
    const end = zonedToUtc(day, to.length === 5 ? `${to}:00` : to, timeZone);
    if (end <= start) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    setError(null);
    setJob(null);
    try {
      setJob(await client.requestExport(cameraId, start.toISOString(), end.toISOString()));
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form className="export" onSubmit={submit}>
      <h2>{t("rec.export")}</h2>
      <label>
        {t("common.from")}
        <input type="time" step={1} value={from} onChange={(e) => setFrom(e.target.value)} required />
      </label>
      <label>
        {t("common.to")}
        <input type="time" step={1} value={to} onChange={(e) => setTo(e.target.value)} required />
      </label>
      <button type="submit" disabled={job !== null && (job.status === "pending" || job.status === "running")} data-testid="export-submit">
        {t("rec.exportRequest")}
      </button>
      {invalid && <div className="error">{t("rec.rangeInvalid")}</div>}
      <ErrorNote error={error} />
      {job && (
        <div className="export-status" data-testid="export-status" data-status={job.status}>
          {job.status === "pending" && t("rec.export.pending")}
          {job.status === "running" && (
            <>
              {t("rec.export.running")} <progress />
            </>
          )}
          {job.status === "failed" && <span className="error">{t("rec.export.failed", { error: job.error ?? "" })}</span>}
          {job.status === "done" && (
            <>
              {t("rec.export.done")}{" "}
              {job.download_url && (
                <a href={job.download_url} download data-testid="export-download">
                  {t("rec.download")}
                </a>
              )}
            </>
          )}
        </div>
      )}
    </form>
  );
}
