/** @jsxImportSource @kitajs/html */
// Owns how filament reads: each AMS unit with its trays on the printer page, a compact row of swatches on the
// overview card, and the trays a job used. Colours are SVG fills (the CSP allows no inline style).
import type { AmsState, AmsUnit, Tray } from "../src/bambu-ams.ts";
import type { Dictionary } from "../src/i18n.ts";
import type { ViewContext } from "./context.ts";

/** #RRGGBB and its opacity from the printer's RRGGBBAA (already checked to be eight hex digits). */
function fill(color: string): { hex: string; opacity: string } {
  return { hex: `#${color.slice(0, 6)}`, opacity: (Number.parseInt(color.slice(6, 8), 16) / 255).toFixed(2) };
}

export function Swatch(props: { color: string | null }) {
  if (!props.color) return <span class="swatch swatch-empty" aria-hidden="true"></span>;
  const { hex, opacity } = fill(props.color);
  return (
    <svg class="swatch" viewBox="0 0 1 1" aria-hidden="true" focusable="false">
      <rect width="1" height="1" fill={hex} fill-opacity={opacity} />
    </svg>
  );
}

/** "AMS 2 Pro 1": units are numbered per kind as the printer's screen does (HT units count from 128). */
export function unitName(t: Dictionary, u: AmsUnit): string {
  const n = u.id >= 128 ? u.id - 127 : u.id + 1;
  return t.amsUnit.replace("{kind}", u.kind ?? "AMS").replace("{n}", String(n));
}

/** A tray in words: type, brand, colour and what is left (also what a swatch's label says). */
export function trayText(t: Dictionary, tray: Pick<Tray, "type" | "brand" | "color" | "remain">): string {
  if (!tray.type) return t.amsEmpty;
  const parts = [tray.brand && tray.brand !== tray.type ? `${tray.type} (${tray.brand})` : tray.type];
  if (tray.color) parts.push(`#${tray.color}`);
  if (tray.remain !== null) parts.push(t.amsRemain.replace("{n}", String(tray.remain)));
  return parts.join(" · ");
}

function TrayItem(props: { tray: Tray; label: string; ctx: ViewContext }) {
  const { tray, ctx } = props;
  return (
    <li class={`tray${tray.active ? " active" : ""}${tray.type ? "" : " empty"}`} data-tray={tray.id}>
      <Swatch color={tray.color} />
      <span class="tray-slot">{props.label}</span>
      <span class="tray-text" safe>
        {trayText(ctx.t, tray)}
      </span>
      {tray.active ? <strong class="tray-now">{ctx.t.amsNow}</strong> : ""}
      {tray.remain !== null ? (
        <meter min="0" max="100" value={String(tray.remain)} aria-label={`${props.label} ${tray.remain} %`}></meter>
      ) : (
        ""
      )}
    </li>
  );
}

/** The printer page's filament section: every unit (kind, humidity, temperature) with its trays, then the spools. */
export function AmsPanel(props: { ams: AmsState | null; ctx: ViewContext }) {
  const { ams, ctx } = props;
  const { t } = ctx;
  if (!ams || (!ams.units.length && !ams.external.some((s) => s.type))) return "";
  return (
    <section class="ams" aria-labelledby="h-ams">
      <h3 id="h-ams">{t.ams}</h3>
      {ams.units.map((u) => {
        const name = unitName(t, u);
        const climate = [
          u.humidity !== null ? `${t.amsHumidity} ${u.humidity} %` : "",
          u.temp !== null ? `${u.temp.toFixed(1)} °C` : "",
        ]
          .filter(Boolean)
          .join(" · ");
        return (
          <div class="ams-unit" data-ams-unit={u.id}>
            <h4>
              <span safe>{name}</span> {climate ? <span class="muted">{climate}</span> : ""}
            </h4>
            <ul class="trays">
              {u.trays.map((tray) => (
                <TrayItem
                  tray={tray}
                  label={`${u.id >= 128 ? "HT" : String.fromCharCode(65 + u.id)}${tray.slot + 1}`}
                  ctx={ctx}
                />
              ))}
            </ul>
          </div>
        );
      })}
      {ams.external.some((s) => s.type) ? (
        <div class="ams-unit" data-ams-unit="external">
          <h4>{t.amsExternal}</h4>
          <ul class="trays">
            {ams.external
              .filter((s) => s.type)
              .map((tray) => (
                <TrayItem
                  tray={tray}
                  label={ams.external.length > 1 ? (tray.id === 254 ? "R" : "L") : "Ext"}
                  ctx={ctx}
                />
              ))}
          </ul>
        </div>
      ) : (
        ""
      )}
    </section>
  );
}

/** The overview card's row: one swatch per loaded tray, the one printing now ringed. */
export function AmsStrip(props: { ams: AmsState | null; ctx: ViewContext }) {
  const { ams, ctx } = props;
  const trays = [...(ams?.units.flatMap((u) => u.trays) ?? []), ...(ams?.external ?? [])].filter((x) => x.type);
  if (!trays.length) return "";
  return (
    <ul class="ams-strip" aria-label={ctx.t.ams}>
      {trays.map((tray) => (
        <li class={tray.active ? "active" : ""} title={trayText(ctx.t, tray)}>
          <Swatch color={tray.color} />
          <span class="tray-type" safe>
            {tray.type}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The filaments a job used (type and colour), as its page and the history list show them. */
export function JobFilaments(props: { filaments: { type: string; color: string | null }[]; ctx: ViewContext }) {
  if (!props.filaments.length) return "";
  return (
    <ul class="ams-strip job-filaments" aria-label={props.ctx.t.amsTrays}>
      {props.filaments.map((f) => (
        <li title={f.color ? `${f.type} #${f.color}` : f.type}>
          <Swatch color={f.color} />
          <span class="tray-type" safe>
            {f.type}
          </span>
        </li>
      ))}
    </ul>
  );
}
