/**
 * Onboarding a camera by ONVIF (tenant admins; docs/onvif_ptz.md): discover the devices
 * on the city's networks (or type a device address), pick one, give its credentials and
 * the camera's settings; the admin service reads the stream URI from the device, so no
 * RTSP URL is typed. The device's refusals land on the field they concern.
 */
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import type { Camera, RecordingMode } from "../../api/types";
import { ApiError } from "../../api/errors";
import { ONVIF_ERROR_FIELDS, type DiscoveredDevice, type Location, type OnboardInput, type Tenant } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { Field, isFieldError, useConsole } from "./common";

const MODES: RecordingMode[] = ["off", "continuous", "events"];
const FIELDS = ["name", "device_url", "username", "password", "profile", "location", "recording_mode", "tenant"] as const;
const ERROR_KEYS: Record<string, MessageKey> = {
  onvif_not_authorized: "onvif.error.notAuthorized",
  onvif_unreachable: "onvif.error.unreachable",
  onvif_error: "onvif.error.device",
};

interface FormState {
  name: string;
  device_url: string;
  username: string;
  password: string;
  profile: string;
  location: string;
  recording_mode: RecordingMode;
  tenant: string;
}

const EMPTY: FormState = { name: "", device_url: "", username: "", password: "", profile: "", location: "", recording_mode: "off", tenant: "" };

/** What the form sends (optional fields only when given). */
export function onboardInput(form: FormState, superadmin: boolean): OnboardInput {
  const body: OnboardInput = {
    name: form.name.trim(),
    device_url: form.device_url.trim(),
    username: form.username,
    password: form.password,
    recording_mode: form.recording_mode,
    location: form.location || null,
  };
  if (form.profile.trim()) body.profile = form.profile.trim();
  if (superadmin && form.tenant) body.tenant = form.tenant;
  return body;
}

/**
 * The onboarding's refusal with the device's reason translated on its field
 * (onvif_not_authorized → password, onvif_unreachable/onvif_error → device_url).
 */
export function localiseOnvifError(error: unknown, t: (key: MessageKey) => string): unknown {
  if (!(error instanceof ApiError) || error.status !== 400) return error;
  const field = ONVIF_ERROR_FIELDS[error.code];
  const key = ERROR_KEYS[error.code];
  if (!field || !key) return error;
  const apiMessages = error.details[field];
  // An ONVIF fault's subcode is kept (it says what the device refused); the API's plain
  // sentences are replaced by the translated reason.
  const faults = (Array.isArray(apiMessages) ? apiMessages.map(String) : []).filter((m) => m.includes("fault"));
  return new ApiError(error.status, error.code, error.message, { ...error.details, [field]: [t(key), ...faults] });
}

/** A discovered device's name for the form: its advertised name, else its address. */
function suggestedName(device: DiscoveredDevice): string {
  return device.name?.trim() || device.hardware?.trim() || new URL(device.device_url, "http://x").hostname;
}

interface Props {
  locations: Location[];
  tenants: Tenant[];
  superadmin: boolean;
  onSaved: (camera: Camera) => void;
  onCancel: () => void;
}

export function OnvifOnboarding({ locations, tenants, superadmin, onSaved, onCancel }: Props) {
  const api = useConsole();
  const { t } = useI18n();
  const [form, setForm] = useState<FormState>(EMPTY);
  const [found, setFound] = useState<DiscoveredDevice[] | null>(null);
  const [discovering, setDiscovering] = useState(false);
  const [discoverError, setDiscoverError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  function set<K extends keyof FormState>(key: K, value: FormState[K]) {
    setForm((f) => ({ ...f, [key]: value }));
  }

  async function discover() {
    setDiscovering(true);
    setDiscoverError(null);
    try {
      setFound((await api.discoverCameras()).items);
    } catch (err) {
      setFound(null);
      setDiscoverError(err instanceof ApiError && (err.status === 404 || err.status === 405) ? t("onvif.discoveryUnavailable") : err);
    } finally {
      setDiscovering(false);
    }
  }

  function choose(device: DiscoveredDevice) {
    setChosen(device.endpoint);
    setError(null);
    setForm((f) => ({ ...f, device_url: device.device_url, name: f.name || suggestedName(device) }));
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaving(true);
    try {
      onSaved(await api.onboardCamera(onboardInput(form, superadmin)));
    } catch (err) {
      setError(localiseOnvifError(err, t));
    } finally {
      setSaving(false);
    }
  }

  return (
    <div className="card stack" data-testid="onvif-onboarding">
      <h2>{t("onvif.title")}</h2>
      <p className="muted">{t("onvif.intro")}</p>
      <p>
        <button type="button" className="secondary" onClick={() => void discover()} disabled={discovering} data-testid="onvif-discover">
          {discovering ? t("onvif.discovering") : t("onvif.discover")}
        </button>
      </p>
      {typeof discoverError === "string" ? (
        <p className="muted" data-testid="onvif-discovery-unavailable">
          {discoverError}
        </p>
      ) : (
        <ErrorNote error={discoverError} />
      )}
      {found !== null && found.length === 0 && (
        <p className="muted" data-testid="onvif-none-found">
          {t("onvif.noneFound")}
        </p>
      )}
      {found !== null && found.length > 0 && (
        <table className="table onvif-results" data-testid="onvif-results">
          <thead>
            <tr>
              <th>{t("onvif.device")}</th>
              <th>{t("onvif.hardware")}</th>
              <th>{t("onvif.address")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {found.map((d) => (
              <tr
                key={d.endpoint}
                data-testid="onvif-result"
                data-device-url={d.device_url}
                data-name={d.name ?? ""}
                className={chosen === d.endpoint ? "selected" : undefined}
              >
                <td>{d.name || t("onvif.unnamed")}</td>
                <td>{d.hardware ?? ""}</td>
                <td>
                  <code>{d.device_url}</code>
                </td>
                <td>
                  {d.already_registered_camera_id ? (
                    <small className="muted" data-testid="onvif-already">
                      {t("onvif.alreadyRegistered")}
                    </small>
                  ) : (
                    <button type="button" className="small" onClick={() => choose(d)} data-testid="onvif-choose">
                      {t("onvif.choose")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="stack" onSubmit={save} data-testid="onvif-form" noValidate>
        {error !== null && !isFieldError(error, FIELDS) && <ErrorNote error={error} />}
        <div className="form-grid">
          {superadmin && (
            <Field label={t("common.tenant")} name="tenant" error={error}>
              <select value={form.tenant} onChange={(e) => set("tenant", e.target.value)} data-testid="onvif-tenant">
                <option value="">{t("map.choose")}</option>
                {tenants.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
          <Field label={t("onvif.deviceUrl")} name="device_url" error={error} hint={t("onvif.deviceUrlHint")}>
            <input
              value={form.device_url}
              onChange={(e) => {
                set("device_url", e.target.value);
                setChosen(null);
              }}
              placeholder="http://10.0.0.5/onvif/device_service"
              autoComplete="off"
              data-testid="onvif-device-url"
            />
          </Field>
          <Field label={t("cam.name")} name="name" error={error}>
            <input value={form.name} onChange={(e) => set("name", e.target.value)} maxLength={200} data-testid="onvif-name" />
          </Field>
          <Field label={t("onvif.username")} name="username" error={error}>
            <input value={form.username} onChange={(e) => set("username", e.target.value)} autoComplete="off" data-testid="onvif-username" />
          </Field>
          <Field label={t("onvif.password")} name="password" error={error}>
            <input type="password" value={form.password} onChange={(e) => set("password", e.target.value)} autoComplete="new-password" data-testid="onvif-password" />
          </Field>
          <Field label={t("onvif.profile")} name="profile" error={error} hint={t("onvif.profileHint")}>
            <input value={form.profile} onChange={(e) => set("profile", e.target.value)} maxLength={64} data-testid="onvif-profile" />
          </Field>
          <Field label={t("cam.location")} name="location" error={error}>
            <select value={form.location} onChange={(e) => set("location", e.target.value)} data-testid="onvif-location">
              <option value="">{t("cam.none")}</option>
              {locations.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("cam.recordingMode")} name="recording_mode" error={error}>
            <select value={form.recording_mode} onChange={(e) => set("recording_mode", e.target.value as RecordingMode)} data-testid="onvif-recording">
              {MODES.map((m) => (
                <option key={m} value={m}>
                  {t(`cam.recording.${m}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div className="row-actions">
          <button type="submit" disabled={saving} data-testid="onvif-save">
            {saving ? t("onvif.saving") : t("onvif.save")}
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </div>
  );
}
