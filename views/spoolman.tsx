/** @jsxImportSource @kitajs/html */
// Owns the printer page's Spoolman section: each AMS tray with the Spoolman spool it is linked to, and for
// operators a form to link it to another spool (or none). Loaded after the page (htmx), so a slow or absent
// Spoolman never holds the printer page up.
import type { AmsState, Tray } from "../src/bambu-ams.ts";
import type { Spool } from "../src/integrations/spoolman.ts";
import type { SpoolLinkRow } from "../src/store/store.ts";
import { Swatch, trayText, unitName } from "./ams.tsx";
import type { ViewContext } from "./context.ts";
import { Csrf } from "./forms.tsx";

/** Every tray with the label the printer's screen gives it (A1…D4, HT, Ext / L / R). */
export function traysOf(t: ViewContext["t"], ams: AmsState | null): { tray: Tray; label: string }[] {
  if (!ams) return [];
  const out: { tray: Tray; label: string }[] = [];
  for (const u of ams.units)
    for (const tray of u.trays)
      out.push({
        tray,
        label: `${u.id >= 128 ? unitName(t, u) : `${String.fromCharCode(65 + u.id)}${tray.slot + 1}`}`,
      });
  for (const tray of ams.external)
    out.push({ tray, label: ams.external.length > 1 ? (tray.id === 254 ? "R" : "L") : "Ext" });
  return out;
}

const spoolText = (s: Spool) =>
  [`#${s.id}`, s.vendor, s.name, s.material, s.remaining_weight !== null ? `${Math.round(s.remaining_weight)} g` : null]
    .filter(Boolean)
    .join(" · ");

export function SpoolmanSection(props: {
  ctx: ViewContext;
  printerId: number;
  ams: AmsState | null;
  links: SpoolLinkRow[];
  /** Spoolman's spools, or why they could not be read. */
  spools: Spool[] | { error: string };
  canLink: boolean;
  flash?: { kind: "ok" | "error"; text: string };
}) {
  const { ctx, printerId } = props;
  const { t } = ctx;
  const spools = Array.isArray(props.spools) ? props.spools : [];
  const linked = new Map(props.links.map((l) => [l.tray, l]));
  const trays = traysOf(t, props.ams).filter(({ tray }) => tray.type || linked.has(tray.id));
  return (
    <section class="tile spoolman" id="spoolman" aria-labelledby="h-spoolman">
      <h2 id="h-spoolman">{t.spoolman}</h2>
      {props.flash ? (
        <p class={props.flash.kind === "ok" ? "flash ok" : "flash error"} role="status" safe>
          {props.flash.text}
        </p>
      ) : (
        ""
      )}
      {Array.isArray(props.spools) ? (
        ""
      ) : (
        <p class="flash error" role="status" safe>
          {`${t.spoolmanUnreachable} ${props.spools.error}`}
        </p>
      )}
      {trays.length ? (
        <ul class="spoolman-trays">
          {trays.map(({ tray, label }) => {
            const link = linked.get(tray.id);
            const spool = link ? spools.find((s) => s.id === link.spool_id) : undefined;
            const id = `spool-${printerId}-${tray.id}`;
            return (
              <li data-tray={String(tray.id)} data-spool={link ? String(link.spool_id) : ""}>
                <Swatch color={tray.color} />
                <strong>{label}</strong> <span safe>{trayText(t, tray)}</span>{" "}
                <span class="muted" safe>
                  {link ? `→ ${spool ? spoolText(spool) : `#${link.spool_id}`}` : t.spoolNotLinked}
                </span>
                {props.canLink && Array.isArray(props.spools) ? (
                  <form
                    method="post"
                    action={`/printers/${printerId}/spoolman`}
                    hx-post={`/printers/${printerId}/spoolman`}
                    hx-target="#spoolman"
                    hx-swap="outerHTML"
                  >
                    <Csrf ctx={ctx} />
                    <input type="hidden" name="tray" value={String(tray.id)} />
                    <select id={id} name="spool_id" aria-label={t.spoolFor.replace("{tray}", label)}>
                      <option value="">{t.spoolNone}</option>
                      {spools.map((s) => (
                        <option value={String(s.id)} selected={s.id === link?.spool_id} safe>
                          {spoolText(s)}
                        </option>
                      ))}
                    </select>
                    <button type="submit">{t.spoolLink}</button>
                  </form>
                ) : (
                  ""
                )}
              </li>
            );
          })}
        </ul>
      ) : (
        <p class="muted">{t.spoolNoTrays}</p>
      )}
    </section>
  );
}
