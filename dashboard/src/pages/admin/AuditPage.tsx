import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useAuth } from "../../auth/AuthContext";
import { formatDateTime, useI18n } from "../../i18n/i18n";
import type { AuditEntry, AuditQuery } from "../../api/console";
import { downloadText } from "../../api/console";
import { ErrorNote } from "../../components/ErrorNote";
import { useConsole } from "./common";

const PAGE_SIZE = 50;

interface Filters {
  username: string;
  action: string;
  object_type: string;
  object_id: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { username: "", action: "", object_type: "", object_id: "", from: "", to: "" };

/** A datetime-local value ("2026-03-01T12:00") read as local browser time → ISO UTC. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

export function toAuditQuery(filters: Filters, page: number): AuditQuery {
  const action = filters.action.trim();
  return {
    username: filters.username.trim() || undefined,
    // "recording." lists every recording action; a full name is exact.
    ...(action.endsWith(".") ? { action_prefix: action } : { action: action || undefined }),
    object_type: filters.object_type.trim() || undefined,
    object_id: filters.object_id.trim() || undefined,
    from: isoOf(filters.from),
    to: isoOf(filters.to),
    page,
    page_size: PAGE_SIZE,
  };
}

export function AuditPage() {
  const { timeZone } = useAuth();
  const api = useConsole();
  const { t, locale } = useI18n();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(1);
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  const [count, setCount] = useState(0);
  const [detail, setDetail] = useState<AuditEntry | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const result = await api.audit(toAuditQuery(filters, page));
      setRows(result.items);
      setCount(result.count);
    } catch (err) {
      setError(err);
      setRows([]);
    }
  }, [api, filters, page]);

  useEffect(() => {
    void load();
  }, [load]);

  function apply(event: FormEvent) {
    event.preventDefault();
    setPage(1);
    setFilters(draft);
  }

  async function exportCsv() {
    setError(null);
    try {
      const text = await api.auditCsv(toAuditQuery(filters, 1));
      downloadText(`auditoria-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "")}.csv`, text);
    } catch (err) {
      setError(err);
    }
  }

  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const set = (key: keyof Filters, value: string) => setDraft((d) => ({ ...d, [key]: value }));

  return (
    <section className="console-audit">
      <h1>{t("audit.title")}</h1>
      <form className="filters" onSubmit={apply} data-testid="audit-filters">
        <label className="field">
          <span>{t("audit.user")}</span>
          <input value={draft.username} onChange={(e) => set("username", e.target.value)} data-testid="audit-username" />
        </label>
        <label className="field">
          <span>{t("audit.action")}</span>
          <input value={draft.action} onChange={(e) => set("action", e.target.value)} placeholder="create, recording." data-testid="audit-action" />
        </label>
        <label className="field">
          <span>{t("audit.objectType")}</span>
          <input value={draft.object_type} onChange={(e) => set("object_type", e.target.value)} placeholder="camera, user…" data-testid="audit-object-type" />
        </label>
        <label className="field">
          <span>{t("audit.objectId")}</span>
          <input value={draft.object_id} onChange={(e) => set("object_id", e.target.value)} />
        </label>
        <label className="field">
          <span>{t("common.from")}</span>
          <input type="datetime-local" value={draft.from} onChange={(e) => set("from", e.target.value)} />
        </label>
        <label className="field">
          <span>{t("common.to")}</span>
          <input type="datetime-local" value={draft.to} onChange={(e) => set("to", e.target.value)} />
        </label>
        <button type="submit" data-testid="audit-apply">
          {t("common.apply")}
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft(EMPTY);
            setFilters(EMPTY);
            setPage(1);
          }}
        >
          {t("common.clear")}
        </button>
        <button type="button" className="secondary" onClick={() => void exportCsv()} data-testid="audit-csv">
          {t("common.exportCsv")}
        </button>
      </form>
      <ErrorNote error={error} onRetry={() => void load()} />
      {rows === null && <p className="muted">{t("common.loading")}</p>}
      {rows?.length === 0 && <p className="muted">{t("audit.empty")}</p>}
      {rows && rows.length > 0 && (
        <>
          <p className="muted" data-testid="audit-count">
            {t("audit.count", { count })}
          </p>
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th>{t("audit.time")}</th>
                <th>{t("audit.user")}</th>
                <th>{t("audit.action")}</th>
                <th>{t("audit.object")}</th>
                <th>{t("audit.ip")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={r.id}
                  className="clickable"
                  onClick={() => setDetail(r)}
                  data-testid="audit-row"
                  data-action={r.action}
                  data-object-type={r.object_type}
                >
                  <td>{formatDateTime(r.occurred_at, locale, timeZone)}</td>
                  <td>{r.username || "—"}</td>
                  <td>{r.action}</td>
                  <td>
                    {r.object_type}
                    {r.object_id && <small className="muted"> {r.object_id}</small>}
                  </td>
                  <td>{r.ip ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row-actions">
            <button type="button" className="small secondary" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
              {t("common.previous")}
            </button>
            <span className="muted">{t("common.page", { page, pages })}</span>
            <button type="button" className="small secondary" disabled={page >= pages} onClick={() => setPage((p) => p + 1)}>
              {t("common.next")}
            </button>
          </div>
        </>
      )}
      {detail && (
        <div className="card" data-testid="audit-detail">
          <h2>
            {t("audit.detail")}: {detail.action} {detail.object_type}
          </h2>
          <p className="muted">
            {formatDateTime(detail.occurred_at, locale, timeZone)} · {detail.username || "—"} · {detail.ip ?? ""} ·{" "}
            {t("audit.correlation")} {detail.correlation_id || "—"}
          </p>
          <div className="two-col">
            <div>
              <h3>{t("audit.before")}</h3>
              <pre className="json" data-testid="audit-before">{JSON.stringify(detail.before, null, 2)}</pre>
            </div>
            <div>
              <h3>{t("audit.after")}</h3>
              <pre className="json" data-testid="audit-after">{JSON.stringify(detail.after, null, 2)}</pre>
            </div>
          </div>
          <button type="button" className="secondary" onClick={() => setDetail(null)}>
            {t("common.close")}
          </button>
        </div>
      )}
    </section>
  );
}
