import type { StreamFailureCode, StreamState } from "../api/types";
import { useI18n } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";

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

/** The message key of a stream failure code (every code has one in each language). */
export function streamFailureKey(code: StreamFailureCode): MessageKey {
  return `stream.error.${code}`;
}

/**
 * Why the camera's stream is down, translated from the server's stable code. The server
 * never sends the engine's own words (they name addresses and ports), and neither does
 * this: an unknown code shows nothing rather than raw text.
 */
export function StreamFailureNote({ code }: { code: StreamFailureCode }) {
  const { t } = useI18n();
  return (
    <div className="tile-error" role="status" data-testid="stream-error" data-code={code}>
      {t(streamFailureKey(code))}
    </div>
  );
}
