import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import type { Tenant, TenantUsage } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { Field, formatBytes, isFieldError, useConsole } from "./common";
import { ReportsApi } from "../../api/reports";

/** Prefeituras (superadmin only): create, suspend/reactivate, usage. */
export function TenantsPage() {
  const api = useConsole();
  const { t } = useI18n();
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [usage, setUsage] = useState<Record<string, TenantUsage>>({});
  const [storage, setStorage] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [form, setForm] = useState({ name: "", slug: "", timezone: "America/Sao_Paulo" });

  const load = useCallback(async () => {
    setError(null);
    try {
      const list = await api.tenants();
      setTenants(list);
      const reports = new ReportsApi(api.client);
      for (const x of list) {
        void api.tenantUsage(x.id).then((u) => setUsage((m) => ({ ...m, [x.id]: u }))).catch(() => undefined);
        void reports
          .storageBytes(x.id)
          .then((bytes) => setStorage((m) => ({ ...m, [x.id]: bytes })))
          .catch(() => undefined);
      }
    } catch (err) {
      setError(err);
      setTenants([]);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    try {
      await api.createTenant({ name: form.name.trim(), slug: form.slug.trim(), timezone: form.timezone.trim() });
      setForm({ name: "", slug: "", timezone: "America/Sao_Paulo" });
      await load();
    } catch (err) {
      setFormError(err);
    }
  }

  async function toggle(x: Tenant) {
    if (x.is_active && !window.confirm(t("tenants.confirmSuspend", { name: x.name }))) return;
    try {
      await api.setTenantActive(x.id, !x.is_active);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="console-tenants">
      <h1>{t("tenants.title")}</h1>
      <ErrorNote error={error} onRetry={() => void load()} />
      <form className="card stack" onSubmit={create} data-testid="tenant-form" noValidate>
        <h2>{t("tenants.new")}</h2>
        {formError !== null && !isFieldError(formError, ["name", "slug", "timezone"]) && <ErrorNote error={formError} />}
        <div className="form-grid">
          <Field label={t("common.name")} name="name" error={formError}>
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-testid="tenant-name" />
          </Field>
          <Field label={t("tenants.slug")} name="slug" error={formError}>
            <input value={form.slug} onChange={(e) => setForm({ ...form, slug: e.target.value })} data-testid="tenant-slug" />
          </Field>
          <Field label={t("tenants.timezone")} name="timezone" error={formError}>
            <input value={form.timezone} onChange={(e) => setForm({ ...form, timezone: e.target.value })} />
          </Field>
        </div>
        <div>
          <button type="submit" data-testid="tenant-save">
            {t("common.create")}
          </button>
        </div>
      </form>
      {tenants?.length === 0 && <p className="muted">{t("tenants.empty")}</p>}
      {tenants && tenants.length > 0 && (
        <table className="table" data-testid="tenant-table">
          <thead>
            <tr>
              <th>{t("common.name")}</th>
              <th>{t("tenants.slug")}</th>
              <th>{t("tenants.timezone")}</th>
              <th>{t("tenants.usage")}</th>
              <th>{t("cam.status")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((x) => {
              const u = usage[x.id];
              return (
                <tr key={x.id} data-testid="tenant-row" data-slug={x.slug}>
                  <td>{x.name}</td>
                  <td>{x.slug}</td>
                  <td>{x.timezone}</td>
                  <td className="small" data-testid="tenant-usage">
                    {u
                      ? t("tenants.usageLine", {
                          cameras: u.cameras,
                          active: u.cameras_active,
                          lpr: u.lpr_cameras,
                          users: u.users,
                          usersActive: u.users_active,
                        })
                      : "…"}
                    {storage[x.id] !== undefined && <div className="muted">{t("tenants.storage", { size: formatBytes(storage[x.id] ?? 0) })}</div>}
                  </td>
                  <td>{x.is_active ? t("tenants.active") : t("tenants.suspended")}</td>
                  <td>
                    <button type="button" className={`small ${x.is_active ? "danger" : "secondary"}`} onClick={() => void toggle(x)} data-testid="tenant-toggle">
                      {x.is_active ? t("tenants.suspend") : t("tenants.reactivate")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
