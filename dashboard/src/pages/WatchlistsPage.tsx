import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useAuth } from "../auth/AuthContext";
import { formatDateTime, useI18n } from "../i18n/i18n";
import { SEVERITIES, type Severity, type Watchlist, type WatchlistEntry } from "../api/types";
import { ErrorNote } from "../components/ErrorNote";
import { SeverityBadge } from "../components/SeverityBadge";
import { formatPlate, normalisePlate } from "../lib/plates";

export function WatchlistsPage() {
  const { client, can } = useAuth();
  const { t } = useI18n();
  const editable = can("watchlist.edit");
  const [lists, setLists] = useState<Watchlist[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");

  const load = useCallback(async () => {
    setError(null);
    try {
      const all = await client.watchlists();
      setLists(all);
      setSelected((cur) => (cur && all.some((w) => w.id === cur) ? cur : (all[0]?.id ?? null)));
    } catch (err) {
      setError(err);
      setLists([]);
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const created = await client.createWatchlist(name.trim(), description.trim());
      setName("");
      setDescription("");
      await load();
      setSelected(created.id);
    } catch (err) {
      setError(err);
    }
  }

  async function remove(list: Watchlist) {
    if (!window.confirm(t("common.confirmRemove", { name: list.name }))) return;
    try {
      await client.deleteWatchlist(list.id);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  const current = lists?.find((w) => w.id === selected) ?? null;

  return (
    <section className="watchlists">
      <h1>{t("wl.title")}</h1>
      {!editable && <p className="muted" data-testid="wl-readonly">{t("wl.readOnly")}</p>}
      <ErrorNote error={error} onRetry={() => void load()} />
      <div className="two-col wl-layout">
        <div>
          {lists === null && <p className="muted">{t("common.loading")}</p>}
          {lists?.length === 0 && <p className="muted">{t("wl.empty")}</p>}
          <ul className="wl-list">
            {lists?.map((w) => (
              <li key={w.id} className={w.id === selected ? "active" : ""}>
                <button type="button" className="link" onClick={() => setSelected(w.id)}>
                  {w.name}
                </button>
                {editable && (
                  <button type="button" className="small danger" onClick={() => void remove(w)} title={t("wl.deleteList")}>
                    ×
                  </button>
                )}
              </li>
            ))}
          </ul>
          {editable && (
            <form className="stack" onSubmit={create} data-testid="wl-create">
              <h2>{t("wl.new")}</h2>
              <input placeholder={t("wl.name")} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
              <input placeholder={t("wl.description")} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
              <button type="submit">{t("wl.create")}</button>
            </form>
          )}
        </div>
        <div>{current && <Entries watchlist={current} editable={editable} />}</div>
      </div>
    </section>
  );
}

function Entries({ watchlist, editable }: { watchlist: Watchlist; editable: boolean }) {
  const { client, timeZone } = useAuth();
  const { t, locale } = useI18n();
  const [entries, setEntries] = useState<WatchlistEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [plate, setPlate] = useState("");
  const [reason, setReason] = useState("");
  const [severity, setSeverity] = useState<Severity>("high");

  const load = useCallback(async () => {
    setError(null);
    try {
      setEntries(await client.watchlistEntries(watchlist.id));
    } catch (err) {
      setError(err);
      setEntries([]);
    }
  }, [client, watchlist.id]);

  useEffect(() => {
    setEntries(null);
    void load();
  }, [load]);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      // Patterns (ABC*, AB?1234) are allowed: only separators are stripped.
      await client.addWatchlistEntry(watchlist.id, { plate: normalisePlate(plate), reason: reason.trim(), severity });
      setPlate("");
      setReason("");
      await load();
    } catch (err) {
      setError(err);
    }
  }

  async function remove(entry: WatchlistEntry) {
    if (!window.confirm(t("common.confirmRemove", { name: entry.plate }))) return;
    try {
      await client.removeWatchlistEntry(watchlist.id, entry.id);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div>
      <h2>
        {watchlist.name} <small className="muted">{watchlist.description}</small>
      </h2>
      <ErrorNote error={error} />
      {editable && (
        <form className="filters" onSubmit={add} data-testid="wl-add-entry">
          <label>
            {t("wl.plate")}
            <input value={plate} onChange={(e) => setPlate(e.target.value)} required maxLength={32} placeholder="ABC1D23" />
          </label>
          <label>
            {t("wl.reason")}
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
          </label>
          <label>
            {t("wl.severity")}
            <select value={severity} onChange={(e) => setSeverity(e.target.value as Severity)}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {t(`severity.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">{t("wl.addEntry")}</button>
        </form>
      )}
      {entries === null && <p className="muted">{t("common.loading")}</p>}
      {entries?.length === 0 && <p className="muted">{t("wl.noEntries")}</p>}
      {entries && entries.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>{t("wl.plate")}</th>
              <th>{t("wl.reason")}</th>
              <th>{t("wl.severity")}</th>
              <th />
              {editable && <th />}
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-testid="wl-entry">
                <td className="plate">{e.is_exact ? formatPlate(e.plate) : e.plate}</td>
                <td>{e.reason}</td>
                <td>
                  <SeverityBadge severity={e.severity} />
                </td>
                <td className="muted small">{formatDateTime(e.created_at, locale, timeZone)}</td>
                {editable && (
                  <td>
                    <button type="button" className="small danger" onClick={() => void remove(e)}>
                      {t("common.remove")}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
