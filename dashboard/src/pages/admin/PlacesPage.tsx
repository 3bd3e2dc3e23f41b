import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useI18n } from "../../i18n/i18n";
import type { Location, Zone } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { Field, isFieldError, useConsole } from "./common";

interface LocationForm {
  name: string;
  address: string;
  latitude: string;
  longitude: string;
}
interface ZoneForm {
  name: string;
  description: string;
  location: string;
}

const coordinate = (text: string): number | string | null => {
  if (!text.trim()) return null;
  const n = Number(text.replace(",", "."));
  return Number.isFinite(n) ? n : text;
};

export function PlacesPage() {
  const api = useConsole();
  const { t } = useI18n();
  const [locations, setLocations] = useState<Location[] | null>(null);
  const [zones, setZones] = useState<Zone[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [locEdit, setLocEdit] = useState<{ id?: string; form: LocationForm } | null>(null);
  const [zoneEdit, setZoneEdit] = useState<{ id?: string; form: ZoneForm } | null>(null);
  const [formError, setFormError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [l, z] = await Promise.all([api.locations(), api.zones()]);
      setLocations(l);
      setZones(z);
    } catch (err) {
      setError(err);
      setLocations([]);
      setZones([]);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  async function saveLocation(event: FormEvent) {
    event.preventDefault();
    if (!locEdit) return;
    setFormError(null);
    const f = locEdit.form;
    try {
      await api.saveLocation(
        { name: f.name.trim(), address: f.address.trim(), latitude: coordinate(f.latitude), longitude: coordinate(f.longitude) } as Partial<Location>,
        locEdit.id,
      );
      setLocEdit(null);
      await load();
    } catch (err) {
      setFormError(err);
    }
  }

  async function saveZone(event: FormEvent) {
    event.preventDefault();
    if (!zoneEdit) return;
    setFormError(null);
    const f = zoneEdit.form;
    try {
      await api.saveZone({ name: f.name.trim(), description: f.description.trim(), location: f.location || null }, zoneEdit.id);
      setZoneEdit(null);
      await load();
    } catch (err) {
      setFormError(err);
    }
  }

  async function remove(fn: () => Promise<void>, name: string) {
    if (!window.confirm(t("common.confirmRemove", { name }))) return;
    try {
      await fn();
      await load();
    } catch (err) {
      setError(err);
    }
  }

  const locationName = new Map((locations ?? []).map((l) => [l.id, l.name]));

  return (
    <section className="console-places">
      <h1>{t("places.title")}</h1>
      <ErrorNote error={error} onRetry={() => void load()} />
      <div className="two-col">
        <div>
          <h2>{t("places.locations")}</h2>
          <button
            type="button"
            onClick={() => {
              setFormError(null);
              setLocEdit({ form: { name: "", address: "", latitude: "", longitude: "" } });
            }}
            data-testid="location-new"
          >
            {t("places.newLocation")}
          </button>
          {locEdit && (
            <form className="card stack" onSubmit={saveLocation} data-testid="location-form" noValidate>
              {formError !== null && !isFieldError(formError, ["name", "address", "latitude", "longitude"]) && <ErrorNote error={formError} />}
              <div className="form-grid">
                <Field label={t("common.name")} name="name" error={formError}>
                  <input value={locEdit.form.name} onChange={(e) => setLocEdit({ ...locEdit, form: { ...locEdit.form, name: e.target.value } })} data-testid="location-name" />
                </Field>
                <Field label={t("places.address")} name="address" error={formError}>
                  <input value={locEdit.form.address} onChange={(e) => setLocEdit({ ...locEdit, form: { ...locEdit.form, address: e.target.value } })} />
                </Field>
                <Field label={t("cam.latitude")} name="latitude" error={formError}>
                  <input value={locEdit.form.latitude} onChange={(e) => setLocEdit({ ...locEdit, form: { ...locEdit.form, latitude: e.target.value } })} />
                </Field>
                <Field label={t("cam.longitude")} name="longitude" error={formError}>
                  <input value={locEdit.form.longitude} onChange={(e) => setLocEdit({ ...locEdit, form: { ...locEdit.form, longitude: e.target.value } })} />
                </Field>
              </div>
              <div className="row-actions">
                <button type="submit" data-testid="location-save">
                  {t("common.save")}
                </button>
                <button type="button" className="secondary" onClick={() => setLocEdit(null)}>
                  {t("common.cancel")}
                </button>
              </div>
            </form>
          )}
          {locations?.length === 0 && <p className="muted">{t("places.emptyLocations")}</p>}
          {locations && locations.length > 0 && (
            <table className="table" data-testid="location-table">
              <tbody>
                {locations.map((l) => (
                  <tr key={l.id} data-testid="location-row">
                    <td>{l.name}</td>
                    <td className="muted">{l.address}</td>
                    <td className="muted">{l.latitude !== null && l.longitude !== null ? `${l.latitude.toFixed(5)}, ${l.longitude.toFixed(5)}` : ""}</td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() => {
                          setFormError(null);
                          setLocEdit({
                            id: l.id,
                            form: { name: l.name, address: l.address, latitude: l.latitude?.toString() ?? "", longitude: l.longitude?.toString() ?? "" },
                          });
                        }}
                      >
                        {t("common.edit")}
                      </button>
                      <button type="button" className="small danger" onClick={() => void remove(() => api.deleteLocation(l.id), l.name)}>
                        {t("common.remove")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>{t("places.zones")}</h2>
          <button
            type="button"
            onClick={() => {
              setFormError(null);
              setZoneEdit({ form: { name: "", description: "", location: "" } });
            }}
            data-testid="zone-new"
          >
            {t("places.newZone")}
          </button>
          {zoneEdit && (
            <form className="card stack" onSubmit={saveZone} data-testid="zone-form" noValidate>
              {formError !== null && !isFieldError(formError, ["name", "description", "location"]) && <ErrorNote error={formError} />}
              <Field label={t("common.name")} name="name" error={formError}>
                <input value={zoneEdit.form.name} onChange={(e) => setZoneEdit({ ...zoneEdit, form: { ...zoneEdit.form, name: e.target.value } })} data-testid="zone-name" />
              </Field>
              <Field label={t("places.description")} name="description" error={formError}>
                <input value={zoneEdit.form.description} onChange={(e) => setZoneEdit({ ...zoneEdit, form: { ...zoneEdit.form, description: e.target.value } })} />
              </Field>
              <Field label={t("cam.location")} name="location" error={formError}>
                <select value={zoneEdit.form.location} onChange={(e) => setZoneEdit({ ...zoneEdit, form: { ...zoneEdit.form, location: e.target.value } })}>
                  <option value="">{t("cam.none")}</option>
                  {(locations ?? []).map((l) => (
                    <option key={l.id} value={l.id}>
                      {l.name}
                    </option>
                  ))}
                </select>
              </Field>
              <div className="row-actions">
                <button type="submit" data-testid="zone-save">
                  {t("common.save")}
                </button>
                <button type="button" className="secondary" onClick={() => setZoneEdit(null)}>
                  {t("common.cancel")}
                </button>
              </div>
            </form>
          )}
          {zones?.length === 0 && <p className="muted">{t("places.emptyZones")}</p>}
          {zones && zones.length > 0 && (
            <table className="table" data-testid="zone-table">
              <tbody>
                {zones.map((z) => (
                  <tr key={z.id} data-testid="zone-row">
                    <td>{z.name}</td>
                    <td className="muted">{z.location ? (locationName.get(z.location) ?? "") : ""}</td>
                    <td>
                      {z.geometry ? (
                        <span className="badge badge-starting">{t("places.hasPolygon")}</span>
                      ) : (
                        <Link to={`/console/map?zone=${encodeURIComponent(z.id)}`}>{t("map.drawZone")}</Link>
                      )}
                    </td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="small secondary"
                        onClick={() => {
                          setFormError(null);
                          setZoneEdit({ id: z.id, form: { name: z.name, description: z.description, location: z.location ?? "" } });
                        }}
                      >
                        {t("common.edit")}
                      </button>
                      <button type="button" className="small danger" onClick={() => void remove(() => api.deleteZone(z.id), z.name)}>
                        {t("common.remove")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}
