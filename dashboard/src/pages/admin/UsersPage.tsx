import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useAuth } from "../../auth/AuthContext";
import { formatDateTime, useI18n } from "../../i18n/i18n";
import type { MessageKey } from "../../i18n/messages";
import type { Invitation, Tenant, TenantRole, User } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { Field, Notice, isFieldError, useConsole } from "./common";

const ROLES: TenantRole[] = ["viewer", "operator", "tenant_admin"];
const FIELDS = ["username", "email", "first_name", "last_name", "password", "role", "tenant"] as const;

interface NewUser {
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  password: string;
  role: TenantRole;
  tenant: string;
}

const EMPTY: NewUser = { username: "", email: "", first_name: "", last_name: "", password: "", role: "viewer", tenant: "" };

export function UsersPage() {
  const { me, timeZone } = useAuth();
  const api = useConsole();
  const { t, locale } = useI18n();
  const superadmin = me?.is_superadmin ?? false;
  const [users, setUsers] = useState<User[] | null>(null);
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  // "create" types a password; "invite" leaves it to the invitee (a one-time link).
  const [creating, setCreating] = useState<"create" | "invite" | null>(null);
  const [invitation, setInvitation] = useState<Invitation | null>(null);
  const [form, setForm] = useState<NewUser>(EMPTY);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setUsers(await api.users());
    } catch (err) {
      setError(err);
      setUsers([]);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (superadmin) void api.tenants().then(setTenants).catch(() => undefined);
  }, [api, superadmin]);

  const tenantName = new Map(tenants.map((x) => [x.id, x.name]));

  async function create(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    try {
      const { tenant, password, ...rest } = form;
      const scope = superadmin && tenant ? { tenant } : {};
      if (creating === "invite") {
        setInvitation(await api.inviteUser({ ...rest, ...scope }));
      } else {
        const created = await api.createUser({ ...rest, password, ...scope });
        setNotice(`${created.username}: ${t("common.saved")}`);
      }
      setForm(EMPTY);
      setCreating(null);
      await load();
    } catch (err) {
      setFormError(err);
    }
  }

  async function act(fn: () => Promise<unknown>, done?: string) {
    setError(null);
    setNotice(null);
    try {
      await fn();
      if (done) setNotice(done);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  function resetPassword(user: User) {
    const password = window.prompt(t("users.newPasswordPrompt", { name: user.username }));
    if (!password) return;
    void act(() => api.updateUser(user.id, { password }), t("users.passwordReset", { name: user.username }));
  }

  function reinvite(user: User) {
    setError(null);
    setNotice(null);
    api.reinviteUser(user.id).then(setInvitation, setError);
  }

  function deactivate(user: User) {
    if (!window.confirm(t("users.confirmDeactivate", { name: user.username }))) return;
    void act(() => api.deactivateUser(user.id));
  }

  const set = <K extends keyof NewUser>(key: K, value: NewUser[K]) => setForm((f) => ({ ...f, [key]: value }));

  return (
    <section className="console-users">
      <h1>{t("users.title")}</h1>
      <ErrorNote error={error} onRetry={() => void load()} />
      <Notice text={notice} />
      {invitation && (
        <div className="card stack" data-testid="invite-result">
          <span>{t("users.inviteLink", { name: invitation.user.username, until: formatDateTime(invitation.expires_at, locale, timeZone) })}</span>
          <input readOnly value={`${window.location.origin}${invitation.accept_path}`} onFocus={(e) => e.target.select()} data-testid="invite-link" />
          <p>
            <button type="button" className="secondary small" onClick={() => setInvitation(null)}>
              {t("common.close")}
            </button>
          </p>
        </div>
      )}
      {!creating && (
        <p className="row-actions">
          <button type="button" onClick={() => setCreating("create")} data-testid="user-new">
            {t("users.new")}
          </button>
          <button type="button" className="secondary" onClick={() => setCreating("invite")} data-testid="user-invite">
            {t("users.invite")}
          </button>
        </p>
      )}
      {creating && (
        <form className="card stack" onSubmit={create} data-testid="user-form" noValidate>
          <h2>{creating === "invite" ? t("users.invite") : t("users.new")}</h2>
          {formError !== null && !isFieldError(formError, FIELDS) && <ErrorNote error={formError} />}
          <div className="form-grid">
            {superadmin && (
              <Field label={t("common.tenant")} name="tenant" error={formError}>
                <select value={form.tenant} onChange={(e) => set("tenant", e.target.value)}>
                  <option value="">{t("map.choose")}</option>
                  {tenants.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.name}
                    </option>
                  ))}
                </select>
              </Field>
            )}
            <Field label={t("users.username")} name="username" error={formError}>
              <input value={form.username} onChange={(e) => set("username", e.target.value)} autoComplete="off" data-testid="user-username" />
            </Field>
            <Field label={t("users.email")} name="email" error={formError}>
              <input type="email" value={form.email} onChange={(e) => set("email", e.target.value)} data-testid="user-email" />
            </Field>
            <Field label={t("users.firstName")} name="first_name" error={formError}>
              <input value={form.first_name} onChange={(e) => set("first_name", e.target.value)} />
            </Field>
            <Field label={t("users.lastName")} name="last_name" error={formError}>
              <input value={form.last_name} onChange={(e) => set("last_name", e.target.value)} />
            </Field>
            {creating === "create" && (
              <Field label={t("users.password")} name="password" error={formError}>
                <input type="password" value={form.password} onChange={(e) => set("password", e.target.value)} autoComplete="new-password" data-testid="user-password" />
              </Field>
            )}
            <Field label={t("users.role")} name="role" error={formError}>
              <select value={form.role} onChange={(e) => set("role", e.target.value as TenantRole)} data-testid="user-new-role">
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {t(`role.${r}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="row-actions">
            <button type="submit" data-testid="user-save">
              {creating === "invite" ? t("users.invite") : t("common.create")}
            </button>
            <button type="button" className="secondary" onClick={() => setCreating(null)}>
              {t("common.cancel")}
            </button>
          </div>
        </form>
      )}
      {users === null && <p className="muted">{t("common.loading")}</p>}
      {users?.length === 0 && <p className="muted">{t("users.empty")}</p>}
      {users && users.length > 0 && (
        <table className="table" data-testid="user-table">
          <thead>
            <tr>
              <th>{t("users.username")}</th>
              <th>{t("users.email")}</th>
              {superadmin && <th>{t("common.tenant")}</th>}
              <th>{t("users.role")}</th>
              <th>{t("cam.status")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-testid="user-row" data-username={u.username} data-active={String(u.is_active)}>
                <td>{u.username}</td>
                <td>{u.email}</td>
                {superadmin && <td>{u.tenant ? (tenantName.get(u.tenant) ?? u.tenant) : "—"}</td>}
                <td>
                  {u.is_superadmin ? (
                    t("role.superadmin")
                  ) : (
                    <select
                      value={u.role}
                      disabled={!u.is_active || u.id === me?.id}
                      aria-label={t("users.role")}
                      data-testid="user-role-select"
                      onChange={(e) => void act(() => api.updateUser(u.id, { role: e.target.value as TenantRole }))}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {t(`role.${r}` as MessageKey)}
                        </option>
                      ))}
                    </select>
                  )}
                </td>
                <td>{u.is_active ? t("users.active") : t("users.inactive")}</td>
                <td className="row-actions">
                  {u.is_active && u.id !== me?.id && (
                    <>
                      {(superadmin || u.role !== "tenant_admin") && (
                        <button type="button" className="small secondary" onClick={() => resetPassword(u)} data-testid="user-reset">
                          {t("users.resetPassword")}
                        </button>
                      )}
                      <button type="button" className="small danger" onClick={() => deactivate(u)} data-testid="user-deactivate">
                        {t("users.deactivate")}
                      </button>
                    </>
                  )}
                  {!u.is_active && !u.last_login && (
                    <button type="button" className="small secondary" onClick={() => reinvite(u)} data-testid="user-reinvite">
                      {t("users.reinvite")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
