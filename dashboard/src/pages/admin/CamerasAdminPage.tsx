import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useAuth } from "../../auth/AuthContext";
import { useI18n } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import type { Camera, OnvifHealth, RecordingMode, StreamStatus } from "../../api/types";
import type { CameraInput, Location, ProbeResult, Tenant, Zone } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { StatusBadge, tileStatus } from "../../components/StatusBadge";
import { Field, Notice, isFieldError, useConsole } from "./common";
import { OnvifOnboarding } from "./OnvifOnboarding";

const MODES: RecordingMode[] = ["off", "continuous", "events"];
const STATUSES = ["active", "inactive", "maintenance"] as const;
const FORM_FIELDS = [
  "name",
  "rtsp_url",
  "location",
  "zone",
  "latitude",
  "longitude",
  "recording_mode",
  "retention_days",
  "lpr_enabled",
  "status",
  "tenant",
] as const;

interface FormState {
  name: string;
  rtsp_url: string;
  location: string;
  zone: string;
  latitude: string;
  longitude: string;
  recording_mode: RecordingMode;
  retention_days: string;
  lpr_enabled: boolean;
  status: string;
  tenant: string;
}

function emptyForm(): FormState {
  return {
    name: "",
    rtsp_url: "",
    location: "",
    zone: "",
    latitude: "",
    longitude: "",
    recording_mode: "off",
    retention_days: "90",
    lpr_enabled: false,
    status: "active",
    tenant: "",
  };
}

function formOf(camera: Camera): FormState {
  return {
    name: camera.name,
    rtsp_url: "",
    location: camera.location ?? "",
    zone: camera.zone ?? "",
    latitude: camera.latitude === null ? "" : String(camera.latitude),
    longitude: camera.longitude === null ? "" : String(camera.longitude),
    recording_mode: camera.recording_mode,
    retention_days: String(camera.retention_days),
    lpr_enabled: camera.lpr_enabled,
    status: camera.status,
    tenant: camera.tenant,
  };
}

/** A coordinate as typed: a number, null when empty, else the text (the API names it). */
function numberOrNull(text: string): number | string | null {
  if (text.trim() === "") return null;
  const n = Number(text.replace(",", "."));
  return Number.isFinite(n) ? n : text;
}

/** What the form sends: the URL only when typed (it is write-only and never shown). */
export function cameraInput(form: FormState, superadmin: boolean, creating: boolean): CameraInput {
  const body: CameraInput = {
    name: form.name.trim(),
    location: form.location || null,
    zone: form.zone || null,
    latitude: numberOrNull(form.latitude),
    longitude: numberOrNull(form.longitude),
    recording_mode: form.recording_mode,
    retention_days: Number(form.retention_days),
    lpr_enabled: form.lpr_enabled,
    status: form.status,
  };
  if (form.rtsp_url.trim()) body.rtsp_url = form.rtsp_url.trim();
  if (superadmin && creating && form.tenant) body.tenant = form.tenant;
  return body;
}

function Thumbnail({ camera }: { camera: Camera }) {
  const api = useConsole();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void api.thumbnailUrl(camera.id).then((u) => {
      if (live) setUrl(u);
    });
    return () => {
      live = false;
    };
  }, [api, camera.id]);
  return url ? <img className="thumb" src={url} alt={camera.name} loading="lazy" /> : <div className="thumb-missing" />;
}

export function CamerasAdminPage() {
  const { client, me, reloadCameras } = useAuth();
  const api = useConsole();
  const { t } = useI18n();
  const superadmin = me?.is_superadmin ?? false;
  const [cameras, setCameras] = useState<Camera[] | null>(null);
  const [statuses, setStatuses] = useState<Map<string, StreamStatus>>(new Map());
  const [locations, setLocations] = useState<Location[]>([]);
  const [zones, setZones] = useState<Zone[]>([]);
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Camera | "new" | null>(null);
  const [form, setForm] = useState<FormState>(emptyForm);
  const [probe, setProbe] = useState<ProbeResult | "running" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [onboarding, setOnboarding] = useState(false);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [list, locs, zs] = await Promise.all([client.cameras(), api.locations(), api.zones()]);
      setCameras(list);
      setLocations(locs);
      setZones(zs);
      client
        .streams()
        .then((s) => setStatuses(new Map(s.map((x) => [x.camera_id, x]))))
        .catch(() => undefined);
    } catch (err) {
      setError(err);
      setCameras([]);
    }
  }, [client, api]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (superadmin) void api.tenants().then(setTenants).catch(() => undefined);
  }, [api, superadmin]);

  const locationName = useMemo(() => new Map(locations.map((l) => [l.id, l.name])), [locations]);

  function open(target: Camera | "new") {
    setOnboarding(false);
    setEditing(target);
    setForm(target === "new" ? emptyForm() : formOf(target));
    setFormError(null);
    setProbe(null);
    setNotice(null);
  }

  function set<K extends keyof FormState>(key: K, value: FormState[K]) {
    setForm((f) => ({ ...f, [key]: value }));
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!editing) return;
    setFormError(null);
    try {
      const creating = editing === "new";
      const body = cameraInput(form, superadmin, creating);
      const saved = creating ? await api.createCamera(body) : await api.updateCamera(editing.id, body);
      setNotice(`${saved.name}: ${t("common.saved")}`);
      setEditing(null);
      await load();
      void reloadCameras().catch(() => undefined);
    } catch (err) {
      setFormError(err);
    }
  }

  async function testConnection() {
    if (!form.rtsp_url.trim()) {
      setProbe({ ok: false, reason: null, video_codec: null, width: null, height: null, fps: null, format_name: null });
      return;
    }
    setProbe("running");
    try {
      setProbe(await api.probeCamera(form.rtsp_url.trim()));
    } catch (err) {
      setProbe(null);
      setFormError(err);
    }
  }

  async function decommission(camera: Camera) {
    if (!window.confirm(t("cam.confirmDecommission", { name: camera.name }))) return;
    try {
      await api.decommissionCamera(camera.id);
      await load();
      void reloadCameras().catch(() => undefined);
    } catch (err) {
      setError(err);
    }
  }

  const zonesHere = zones.filter((z) => !form.location || !z.location || z.location === form.location);

  return (
    <section className="console-cameras">
      <h1>{t("cam.title")}</h1>
      <ErrorNote error={error} onRetry={() => void load()} />
      <Notice text={notice} />
      <p>
        <button type="button" onClick={() => open("new")} data-testid="camera-new">
          {t("cam.new")}
        </button>{" "}
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setEditing(null);
            setNotice(null);
            setOnboarding(true);
          }}
          data-testid="camera-onvif"
        >
          {t("onvif.open")}
        </button>
      </p>
      {onboarding && (
        <OnvifOnboarding
          locations={locations}
          tenants={tenants}
          superadmin={superadmin}
          onCancel={() => setOnboarding(false)}
          onSaved={(saved) => {
            setOnboarding(false);
            setNotice(`${saved.name}: ${t("onvif.onboarded")}`);
            void load();
            void reloadCameras().catch(() => undefined);
          }}
        />
      )}
      {editing && (
        <form className="card stack" onSubmit={save} data-testid="camera-form" noValidate>
          <h2>{editing === "new" ? t("cam.new") : t("cam.edit", { name: editing.name })}</h2>
          {formError !== null && !isFieldError(formError, FORM_FIELDS) && <ErrorNote error={formError} />}
          <div className="form-grid">
            {superadmin && editing === "new" && (
              <Field label={t("common.tenant")} name="tenant" error={formError}>
                <select value={form.tenant} onChange={(e) => set("tenant", e.target.value)} data-testid="camera-tenant">
                  <option value="">{t("map.choose")}</option>
                  {tenants.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.name}
                    </option>
                  ))}
                </select>
              </Field>
            )}
            <Field label={t("cam.name")} name="name" error={formError}>
              <input value={form.name} onChange={(e) => set("name", e.target.value)} maxLength={200} data-testid="camera-name" />
            </Field>
            <Field
              label={t("cam.rtspUrl")}
              name="rtsp_url"
              error={formError}
              hint={editing !== "new" ? t("cam.rtspUrlKeep", { masked: editing.rtsp_url_masked ?? "" }) : undefined}
            >
              <input
                value={form.rtsp_url}
                onChange={(e) => {
                  set("rtsp_url", e.target.value);
                  setProbe(null);
                }}
                placeholder="rtsp://usuario:senha@10.0.0.5:554/stream1"
                autoComplete="off"
                data-testid="camera-url"
              />
            </Field>
            <Field label={t("cam.location")} name="location" error={formError}>
              <select value={form.location} onChange={(e) => set("location", e.target.value)} data-testid="camera-location">
                <option value="">{t("cam.none")}</option>
                {locations.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("cam.zone")} name="zone" error={formError}>
              <select value={form.zone} onChange={(e) => set("zone", e.target.value)} data-testid="camera-zone">
                <option value="">{t("cam.none")}</option>
                {zonesHere.map((z) => (
                  <option key={z.id} value={z.id}>
                    {z.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("cam.latitude")} name="latitude" error={formError}>
              <input value={form.latitude} onChange={(e) => set("latitude", e.target.value)} inputMode="decimal" data-testid="camera-lat" />
            </Field>
            <Field label={t("cam.longitude")} name="longitude" error={formError}>
              <input value={form.longitude} onChange={(e) => set("longitude", e.target.value)} inputMode="decimal" data-testid="camera-lng" />
            </Field>
            <Field label={t("cam.recordingMode")} name="recording_mode" error={formError}>
              <select value={form.recording_mode} onChange={(e) => set("recording_mode", e.target.value as RecordingMode)} data-testid="camera-recording">
                {MODES.map((m) => (
                  <option key={m} value={m}>
                    {t(`cam.recording.${m}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("cam.retentionDays")} name="retention_days" error={formError}>
              <input value={form.retention_days} onChange={(e) => set("retention_days", e.target.value)} inputMode="numeric" data-testid="camera-retention" />
            </Field>
            <Field label={t("cam.status")} name="status" error={formError}>
              <select value={form.status} onChange={(e) => set("status", e.target.value)} data-testid="camera-status">
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {t(`cam.status.${s}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
            <label className="field checkbox">
              <input type="checkbox" checked={form.lpr_enabled} onChange={(e) => set("lpr_enabled", e.target.checked)} data-testid="camera-lpr" />
              <span>{t("cam.lpr")}</span>
            </label>
          </div>
          <div className="row-actions">
            <button type="button" className="secondary" onClick={() => void testConnection()} disabled={probe === "running"} data-testid="camera-test">
              {probe === "running" ? t("cam.testing") : t("cam.test")}
            </button>
            <button type="submit" data-testid="camera-save">
              {t("common.save")}
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(null)}>
              {t("common.cancel")}
            </button>
          </div>
          <ProbeNote probe={probe} />
        </form>
      )}
      {cameras === null && <p className="muted">{t("common.loading")}</p>}
      {cameras?.length === 0 && <p className="muted">{t("cam.empty")}</p>}
      {cameras && cameras.length > 0 && (
        <table className="table" data-testid="camera-table">
          <thead>
            <tr>
              <th>{t("cam.thumbnail")}</th>
              <th>{t("cam.name")}</th>
              <th>{t("cam.live")}</th>
              <th>ONVIF</th>
              <th>{t("cam.location")}</th>
              <th>{t("cam.recordingMode")}</th>
              <th>{t("cam.status")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {cameras.map((c) => (
              <tr key={c.id} data-testid="camera-row" data-camera={c.name} data-camera-id={c.id} data-ptz={c.ptz ? "true" : "false"}>
                <td>
                  <Thumbnail camera={c} />
                </td>
                <td>
                  <Link to={`/live?camera=${encodeURIComponent(c.id)}`}>{c.name}</Link>
                  {c.lpr_enabled && <small className="muted"> · LPR</small>}
                </td>
                <td>
                  <StatusBadge status={tileStatus(statuses.get(c.id)?.state)} />
                </td>
                <td>
                  <OnvifCell camera={c} />
                </td>
                <td>{c.location ? (locationName.get(c.location) ?? c.location) : t("cam.none")}</td>
                <td>{t(`cam.recording.${c.recording_mode}` as MessageKey)}</td>
                <td>{STATUSES.includes(c.status as (typeof STATUSES)[number]) ? t(`cam.status.${c.status}` as MessageKey) : c.status}</td>
                <td className="row-actions">
                  <button type="button" className="small secondary" onClick={() => open(c)} data-testid="camera-edit">
                    {t("common.edit")}
                  </button>
                  <Link className="small" to={`/console/map?place=${encodeURIComponent(c.id)}`}>
                    {t("cam.placeOnMap")}
                  </Link>
                  <button type="button" className="small danger" onClick={() => void decommission(c)} data-testid="camera-decommission">
                    {t("cam.decommission")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ProbeNote({ probe }: { probe: ProbeResult | "running" | null }) {
  const { t } = useI18n();
  if (probe === null || probe === "running") return null;
  if (probe.ok) {
    return (
      <p className="probe-ok" data-testid="probe-result" data-ok="true">
        {t("cam.testOk", {
          codec: probe.video_codec ?? "?",
          width: probe.width ?? "?",
          height: probe.height ?? "?",
          fps: probe.fps ?? "?",
        })}
      </p>
    );
  }
  if (probe.reason === null) {
    return (
      <p className="probe-failed" data-testid="probe-result" data-ok="false">
        {t("cam.testNeedsUrl")}
      </p>
    );
  }
  return (
    <p className="probe-failed" data-testid="probe-result" data-ok="false" data-reason={probe.reason}>
      {t("cam.testFailed", { reason: t(`stream.error.${probe.reason}` as MessageKey) })}
    </p>
  );
}

/** "+2.5 s" */
function drift(seconds: number): string {
  return `${seconds > 0 ? "+" : ""}${seconds.toFixed(1)} s`;
}

function HealthBadge({ health }: { health: OnvifHealth }) {
  const { t, locale } = useI18n();
  const ok = health.reachable && health.authorized !== false;
  const state = !health.reachable ? "unreachable" : health.authorized === false ? "notAuthorized" : "ok";
  const parts = [t(`onvif.health.${state}` as MessageKey)];
  if (typeof health.clock_drift_seconds === "number") parts.push(t("onvif.health.drift", { drift: drift(health.clock_drift_seconds) }));
  const checked = health.checked_at ? new Date(health.checked_at) : null;
  return (
    <span
      className={`badge ${ok ? "badge-onvif-ok" : "badge-onvif-bad"}`}
      data-testid="onvif-health"
      data-reachable={String(health.reachable)}
      title={checked && !Number.isNaN(checked.getTime()) ? t("onvif.health.checkedAt", { at: checked.toLocaleString(locale) }) : undefined}
    >
      {parts.join(" · ")}
    </span>
  );
}

/** The camera's ONVIF side in the list: PTZ, the device's model, its health when known. */
function OnvifCell({ camera }: { camera: Camera }) {
  const { t } = useI18n();
  const device = camera.onvif_device;
  if (!device && !camera.ptz && !camera.onvif_health) return <small className="muted">{t("cam.none")}</small>;
  const model = [device?.manufacturer, device?.model].filter(Boolean).join(" ");
  return (
    <span className="stack-inline" data-testid="onvif-cell">
      {camera.ptz && <span className="badge badge-ptz" data-testid="ptz-badge">PTZ</span>}{" "}
      {model && <small className="muted">{model}</small>}{" "}
      {camera.onvif_health && <HealthBadge health={camera.onvif_health} />}
    </span>
  );
}
