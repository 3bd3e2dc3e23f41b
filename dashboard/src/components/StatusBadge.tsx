import type { StreamState } from "../api/types";
import { useI18n } from "../i18n/i18n";

export type TileStatus = "live" | "starting" | "reconnecting" | "offline";

/** Maps the streaming service's states onto the three an operator cares about. */
export function tileStatus(state: StreamState | null | undefined): TileStatus {
  switch (state) {
    case "live":
      return "live";
    case "starting":
      return "starting";
    case "reconnecting":
      return "reconnecting";
    default:
      return "offline";
  }
}

export function StatusBadge({ status }: { status: TileStatus }) {
  const { t } = useI18n();
  return (
    <span className={`badge badge-${status}`} data-testid="stream-status" data-status={status}>
      {t(`status.${status}`)}
    </span>
  );
}
