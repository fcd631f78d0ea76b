/** @jsxImportSource @kitajs/html */
// Owns the statistics page: prints, printing hours and success rate per printer and month (a chart and tables),
// the most frequent errors with their wiki pages, and what the room does to prints (failure rate per band with
// its 95 % interval, "too few prints" below the threshold). The same numbers as /api/stats and its CSV.
import type { RoomBand, StatsService } from "../src/services/stats.ts";
import { Swatch } from "./ams.tsx";
import { jsonForHtml, type ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";

type Summary = Awaited<ReturnType<StatsService["summary"]>>;
type Room = Awaited<ReturnType<StatsService["room"]>>;

/** A table that scrolls sideways on a narrow screen: focusable, so a keyboard can scroll it too. */
const Scroll = (props: { label: string; children: JSX.Element }) => (
  <section class="table-wrap" tabindex="0" aria-label={props.label}>
    {props.children}
  </section>
);

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);

function RoomTable(props: { ctx: ViewContext; room: Room; unit: string; caption: string; id: string }) {
  const { ctx, room } = props;
  const { t } = ctx;
  return (
    <Scroll label={props.caption}>
      <table class="stats-table" id={props.id}>
        <caption safe>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t.roomBand}</th>
            <th scope="col">{t.prints}</th>
            <th scope="col">{t.outcome_failed}</th>
            <th scope="col">{t.failureRate}</th>
            <th scope="col">{t.interval95}</th>
          </tr>
        </thead>
        <tbody>
          {room.bands.length ? (
            room.bands.map((b: RoomBand) => (
              <tr data-band={String(b.min)} data-enough={String(b.enough)}>
                <th scope="row">{`${b.min}–${b.max} ${props.unit}`}</th>
                <td>{String(b.prints)}</td>
                <td>{String(b.failed)}</td>
                <td>{b.enough ? pct(b.failure_rate) : <span class="muted">{t.tooFewPrints}</span>}</td>
                <td>{`${pct(b.ci_low)}–${pct(b.ci_high)}`}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colspan="5" class="muted">
                {t.noRoomStats}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </Scroll>
  );
}

export function StatsPage(props: {
  ctx: ViewContext;
  summary: Summary;
  room: { humidity: Room; temperature: Room };
  printerId: number;
  /** The filament type the room tables are for; "" = every filament. */
  filament: string;
  printers: { id: number; name: string }[];
}) {
  const { ctx, summary } = props;
  const { t } = ctx;
  const name = (id: number) => props.printers.find((p) => p.id === id)?.name ?? `#${id}`;
  const query = new URLSearchParams({ from: summary.from, to: summary.to });
  if (props.printerId) query.set("printer_id", String(props.printerId));
  const types = [...new Set([...summary.filament.map((f) => f.type), ...(props.filament ? [props.filament] : [])])];
  // The chart: prints per month by outcome, every printer of the filter together.
  const months = [...new Set(summary.months.map((m) => m.month))];
  const sum = (month: string, key: "finished" | "failed" | "cancelled") =>
    summary.months.filter((m) => m.month === month).reduce((n, m) => n + m[key], 0);
  const chart = {
    labels: months,
    series: (["finished", "failed", "cancelled"] as const).map((k) => ({
      key: k,
      label: (t as Record<string, string>)[`outcome_${k}`],
      data: months.map((m) => sum(m, k)),
    })),
  };
  return (
    <Layout ctx={ctx} title={t.statistics} page="stats" scripts={["/static/chart.umd.min.js", "/static/stats.js"]}>
      <div class="dash-head">
        <h1>{t.statistics}</h1>
      </div>
      <form method="get" action="/stats" class="card stats-filter">
        <label for="stats-from">{t.fromMonth}</label>
        <input type="month" id="stats-from" name="from" value={summary.from} />
        <label for="stats-to">{t.toMonth}</label>
        <input type="month" id="stats-to" name="to" value={summary.to} />
        <label for="stats-printer">{t.printerState}</label>
        <select id="stats-printer" name="printer_id">
          <option value="">{t.allPrinters}</option>
          {props.printers.map((p) => (
            <option value={String(p.id)} selected={p.id === props.printerId} safe>
              {p.name}
            </option>
          ))}
        </select>
        <label for="stats-filament">{t.roomFilament}</label>
        <select id="stats-filament" name="filament">
          <option value="">{t.allFilaments}</option>
          {types.map((type) => (
            <option value={type} selected={type === props.filament} safe>
              {type}
            </option>
          ))}
        </select>
        <button type="submit">{t.show}</button>
        <a href={`/api/stats.csv?${query}`} download="layerwatch-stats.csv">
          {t.downloadCsv}
        </a>
      </form>
      <div class="stats-grid">
        <section class="tile wide" aria-labelledby="h-per-printer">
          <h2 id="h-per-printer">{t.perPrinter}</h2>
          <Scroll label={t.perPrinter}>
            <table class="stats-table" id="stats-printers">
              <thead>
                <tr>
                  <th scope="col">{t.printerState}</th>
                  <th scope="col">{t.prints}</th>
                  <th scope="col">{t.outcome_finished}</th>
                  <th scope="col">{t.outcome_failed}</th>
                  <th scope="col">{t.outcome_cancelled}</th>
                  <th scope="col">{t.printHours}</th>
                  <th scope="col">{t.successRate}</th>
                </tr>
              </thead>
              <tbody>
                {summary.printers.length ? (
                  summary.printers.map((p) => (
                    <tr data-printer={String(p.printer_id)}>
                      <th scope="row" safe>
                        {name(p.printer_id)}
                      </th>
                      <td>{String(p.prints)}</td>
                      <td>{String(p.finished)}</td>
                      <td>{String(p.failed)}</td>
                      <td>{String(p.cancelled)}</td>
                      <td>{p.print_hours.toFixed(2)}</td>
                      <td>{pct(p.success_rate)}</td>
                    </tr>
                  ))
                ) : (
                  <tr>
                    <td colspan="7" class="muted">
                      {t.noJobs}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </Scroll>
        </section>
        <section class="tile" aria-labelledby="h-per-month">
          <h2 id="h-per-month">{t.perMonth}</h2>
          {months.length ? (
            <div class="chart-box">
              <canvas id="stats-chart" role="img" aria-label={t.perMonth}></canvas>
            </div>
          ) : (
            ""
          )}
          <script type="application/json" id="stats-data">
            {jsonForHtml(chart)}
          </script>
          <Scroll label={t.perMonth}>
            <table class="stats-table" id="stats-months">
              <thead>
                <tr>
                  <th scope="col">{t.month}</th>
                  <th scope="col">{t.printerState}</th>
                  <th scope="col">{t.prints}</th>
                  <th scope="col">{t.printHours}</th>
                  <th scope="col">{t.successRate}</th>
                </tr>
              </thead>
              <tbody>
                {summary.months.map((m) => (
                  <tr data-month={m.month} data-printer={String(m.printer_id)}>
                    <th scope="row">{m.month}</th>
                    <td safe>{name(m.printer_id)}</td>
                    <td>{String(m.prints)}</td>
                    <td>{m.print_hours.toFixed(2)}</td>
                    <td>{pct(m.success_rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        </section>
        <section class="tile" aria-labelledby="h-errors">
          <h2 id="h-errors">{t.frequentErrors}</h2>
          {summary.errors.length ? (
            <ol class="stats-errors">
              {summary.errors.map((e) => (
                <li data-code={e.code}>
                  <a href={e.wiki_url} target="_blank" rel="noopener noreferrer">
                    {`${e.kind === "hms" ? "HMS" : t.printError} ${e.code}`}
                  </a>{" "}
                  <span class="muted">{`× ${e.count}`}</span>
                </li>
              ))}
            </ol>
          ) : (
            <p class="muted">{t.noErrorsSeen}</p>
          )}
        </section>
        <section class="tile" aria-labelledby="h-filament">
          <h2 id="h-filament">{t.filamentUsed}</h2>
          <p>
            <a href={`/api/stats.csv?${query}&table=filament`} download="layerwatch-filament.csv">
              {t.downloadCsv}
            </a>
          </p>
          {summary.filament.length ? (
            <Scroll label={t.filamentUsed}>
              <table class="stats-table" id="stats-filament-used">
                <thead>
                  <tr>
                    <th scope="col">{t.filamentType}</th>
                    <th scope="col">{t.filamentColor}</th>
                    <th scope="col">{t.prints}</th>
                    <th scope="col">{t.grams}</th>
                  </tr>
                </thead>
                <tbody>
                  {summary.filament.map((f) => (
                    <tr data-type={f.type} data-color={f.color}>
                      <th scope="row" safe>
                        {f.type}
                      </th>
                      <td>
                        <Swatch color={f.color ? `${f.color.slice(1)}FF` : null} />
                        <span safe>{f.color || "–"}</span>
                      </td>
                      <td>{String(f.prints)}</td>
                      <td>
                        {f.grams === null
                          ? t.gramsUnknown
                          : f.grams_prints < f.prints
                            ? t.gramsOfPrints.replace("{g}", f.grams.toFixed(1)).replace("{n}", String(f.grams_prints))
                            : `${f.grams.toFixed(1)} g`}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          ) : (
            <p class="muted">{t.noFilamentData}</p>
          )}
          <p class="muted">{t.filamentGramsHelp}</p>
        </section>
        <section class="tile wide" aria-labelledby="h-room">
          <h2 id="h-room">{t.roomAndPrints}</h2>
          <p class="muted">{t.roomHelp.replace("{n}", String(props.room.humidity.min_prints))}</p>
          <RoomTable ctx={ctx} room={props.room.humidity} unit="%" caption={t.byHumidity} id="room-humidity" />
          <RoomTable
            ctx={ctx}
            room={props.room.temperature}
            unit="°C"
            caption={t.byTemperature}
            id="room-temperature"
          />
        </section>
      </div>
    </Layout>
  );
}
