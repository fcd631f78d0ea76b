/** @jsxImportSource @kitajs/html */
// Owns the library page: drag-and-drop upload with progress (static/library.js), search by name and tag, each
// file's plates (thumbnail, estimate, model and nozzle, filaments, objects) with a send form per plate for
// operators, and a send's progress page that refreshes itself until the print started or the send failed.
import type { LibraryFile } from "../src/services/library.ts";
import type { SendView } from "../src/services/sends.ts";
import type { ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { Layout } from "./layout.tsx";
import { duration } from "./printer.tsx";

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export function LibraryPage(props: {
  ctx: ViewContext;
  files: LibraryFile[];
  printers: { id: number; name: string; model: string }[];
  q: string;
  tag: string;
  operator: boolean;
  maxMb: number;
  flash?: Flash;
}) {
  const { ctx, files } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={t.library} page="library" scripts={["/static/library.js"]}>
      <div class="dash-head">
        <h1>{t.library}</h1>
      </div>
      <FlashMessage flash={props.flash} />
      {props.operator ? (
        <section class="card upload" aria-labelledby="h-upload">
          <h2 id="h-upload">{t.libraryUpload}</h2>
          <form id="library-upload" method="post" action="/api/library" enctype="multipart/form-data">
            <div id="drop-zone" class="drop-zone">
              <label for="library-file">{t.libraryDrop.replace("{mb}", String(props.maxMb))}</label>
              <input id="library-file" name="file" type="file" accept=".3mf" />
            </div>
            <progress id="upload-progress" max="1" value="0" hidden aria-label={t.libraryUploading}></progress>
            <p id="upload-status" role="status" aria-live="polite"></p>
          </form>
        </section>
      ) : (
        ""
      )}
      <form class="card library-search" method="get" action="/library">
        <label for="library-q">{t.librarySearch}</label>
        <input id="library-q" name="q" type="search" value={props.q} maxlength="100" />
        <label for="library-tag">{t.libraryTag}</label>
        <input id="library-tag" name="tag" type="text" value={props.tag} maxlength="32" />
        <button type="submit">{t.librarySearchButton}</button>
      </form>
      {files.length === 0 ? <p class="card muted">{t.libraryEmpty}</p> : ""}
      <ul class="library-files">
        {files.map((f) => (
          <li class="card library-file" id={`file-${f.id}`}>
            <h2 safe>{f.name}</h2>
            <p class="muted">
              {mb(f.size)}
              {f.tags.length ? " · " : ""}
              <span safe>{f.tags.map((tag) => `#${tag}`).join(" ")}</span>
            </p>
            {f.plates.map((p) => (
              <div class="plate">
                {p.thumbnail_url ? <img src={p.thumbnail_url} alt="" width="96" height="96" loading="lazy" /> : ""}
                <div class="plate-facts">
                  <h3 safe>{p.name}</h3>
                  <p safe>
                    {[
                      p.estimate_s === null ? "" : duration(p.estimate_s / 60, t),
                      p.model ?? "",
                      p.nozzle_mm ? `${p.nozzle_mm} mm` : "",
                      ...p.filaments.map((fl) => `${fl.type} ${fl.color}${fl.grams === null ? "" : ` ${fl.grams} g`}`),
                    ]
                      .filter(Boolean)
                      .join(" · ")}
                  </p>
                  <p class="muted" safe>
                    {p.objects.map((o) => o.name).join(", ")}
                  </p>
                  {props.operator && props.printers.length ? (
                    <form method="post" action={`/library/${f.id}/send`} class="send-form">
                      <Csrf ctx={ctx} />
                      <input type="hidden" name="plate" value={String(p.index)} />
                      <label for={`printer-${f.id}-${p.index}`}>{t.sendTo}</label>
                      <select id={`printer-${f.id}-${p.index}`} name="printer">
                        {props.printers.map((pr) => (
                          <option value={String(pr.id)} safe>
                            {pr.name}
                          </option>
                        ))}
                      </select>
                      <label class="check">
                        <input type="checkbox" name="bed_leveling" value="on" checked /> {t.optBedLeveling}
                      </label>
                      <label class="check">
                        <input type="checkbox" name="flow_cali" value="on" /> {t.optFlowCali}
                      </label>
                      <label class="check">
                        <input type="checkbox" name="timelapse" value="on" /> {t.optTimelapse}
                      </label>
                      <label class="check">
                        <input type="checkbox" name="use_ams" value="on" /> {t.optUseAms}
                      </label>
                      <button type="submit">{t.sendPrint}</button>
                    </form>
                  ) : (
                    ""
                  )}
                  {props.operator && props.printers.length ? (
                    <form method="post" action={`/library/${f.id}/queue`} class="send-form">
                      <Csrf ctx={ctx} />
                      <input type="hidden" name="plate" value={String(p.index)} />
                      <label for={`queue-${f.id}-${p.index}`}>{t.queueAdd}</label>
                      <select id={`queue-${f.id}-${p.index}`} name="target">
                        {p.model ? (
                          <option value={`any:${p.model}`} safe>
                            {t.queueAnyPrinter.replace("{model}", p.model)}
                          </option>
                        ) : (
                          ""
                        )}
                        {props.printers.map((pr) => (
                          <option value={String(pr.id)} safe>
                            {pr.name}
                          </option>
                        ))}
                      </select>
                      <button type="submit">{t.queueAdd}</button>
                    </form>
                  ) : (
                    ""
                  )}
                </div>
              </div>
            ))}
            {props.operator ? (
              <form method="post" action={`/library/${f.id}/delete`} class="inline">
                <Csrf ctx={ctx} />
                <button type="submit" class="danger">
                  {t.delete}
                </button>
              </form>
            ) : (
              ""
            )}
          </li>
        ))}
      </ul>
    </Layout>
  );
}

/** A send's status line; the page asks for it again every second until it has ended. */
export function SendStatus(props: { ctx: ViewContext; send: SendView }) {
  const { ctx, send } = props;
  const { t } = ctx;
  const ended = send.status === "started" || send.status === "failed";
  const words = (t as Record<string, string>)[`send_${send.status}`] ?? send.status;
  return (
    <div
      id="send-status"
      role="status"
      aria-live="polite"
      {...(ended ? {} : { "hx-get": `/sends/${send.id}/status`, "hx-trigger": "every 1s", "hx-swap": "outerHTML" })}
    >
      <p>
        {words}
        {send.status === "uploading" ? ` ${Math.round(send.progress * 100)} %` : ""}
      </p>
      <progress max="1" value={String(send.progress)} aria-label={t.libraryUploading}></progress>
      {send.error ? (
        <p class="flash error" safe>
          {send.error}
        </p>
      ) : (
        ""
      )}
      {send.job_id ? <a href={`/jobs/${send.job_id}`}>{t.sendOpenJob}</a> : ""}
    </div>
  );
}

export function SendPage(props: { ctx: ViewContext; send: SendView; printer: string }) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title={ctx.t.sendTitle} page="library">
      <div class="dash-head">
        <h1 safe>{`${ctx.t.sendTitle}: ${props.printer}`}</h1>
      </div>
      <section class="card">
        <SendStatus ctx={ctx} send={props.send} />
      </section>
    </Layout>
  );
}
