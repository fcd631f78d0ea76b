// A 50 MB sliced 3MF (Bambu Studio's layout, test/fixtures/library/make-3mf.ts, its plate G-code stored) uploaded
// to the library as multipart, then sent on to a fake A1 over FTPS and started over MQTT: each leg's throughput,
// the server's CPU, and its RSS sampled all along against idle (the file streams through, never whole in memory).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakePrinter } from "../test/fakes/bambu-printer.ts";
import { slicedEntries, zip } from "../test/fixtures/library/make-3mf.ts";
import { f0, f1, f2, loginCookie, procStat, quick, results, sleep, startServer, stopServer, workspace } from "./lib.ts";

const MB = 1024 * 1024;

export async function libraryScenario() {
  const size = (quick ? 20 : 50) * MB;
  const printer = await startFakePrinter({ sentPrint: { layers: 3, stepMs: 200 } });
  const ws = workspace({
    library_max_mb: 100,
    printers: [
      {
        name: "Bench A1",
        model: "A1",
        host: "127.0.0.1",
        serial: printer.serial,
        access_code: printer.accessCode,
        mqtt_port: printer.mqttPort,
        ftps_port: printer.ftpsPort,
        camera: false,
        tls: "insecure",
      },
    ],
  });
  const source = join(ws.dir, "bench-plate.gcode.3mf");
  const entries = slicedEntries({
    modelId: "N2S",
    model: "A1",
    nozzle: "0.4",
    plates: [
      {
        index: 1,
        seconds: 36_000,
        objects: [{ id: 1, name: "Big part" }],
        filaments: [{ type: "PLA", color: "#FFFFFF", grams: 900 }],
        gcodeBytes: size,
      },
    ],
  }).map((e) => (e.name.endsWith(".gcode") ? { ...e, store: true } : e));
  writeFileSync(source, zip(entries));
  const fileSize = Bun.file(source).size;

  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  const page = await (await fetch(`${server.url}/settings`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  await sleep(3000);
  const pid = server.proc.pid;
  const idle = procStat(pid);
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(procStat(pid).rssMb), 100);

  const t0 = performance.now();
  const form = new FormData();
  form.append("file", Bun.file(source), "bench-plate.gcode.3mf");
  const up = await fetch(`${server.url}/api/library`, {
    method: "POST",
    headers: { cookie, "x-csrf-token": csrf },
    body: form,
  });
  if (up.status !== 201) throw new Error(`library upload: ${up.status} ${await up.text()}`);
  const file = (await up.json()) as { id: number };
  const uploadS = (performance.now() - t0) / 1000;
  const uploadSamples = samples.length;
  const afterUpload = procStat(pid);

  const t1 = performance.now();
  const sent = await fetch(`${server.url}/api/printers/1/print`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ file_id: file.id, plate: 1 }),
  });
  if (sent.status !== 202) throw new Error(`send: ${sent.status} ${await sent.text()}`);
  const { send_id } = (await sent.json()) as { send_id: number };
  let status = "";
  let uploadedAt = 0;
  for (let i = 0; i < 6000 && status !== "started" && status !== "failed"; i++) {
    await sleep(50);
    const s = (await (await fetch(`${server.url}/api/sends/${send_id}`, { headers: { cookie } })).json()) as {
      status: string;
    };
    status = s.status;
    if (!uploadedAt && status !== "uploading") uploadedAt = performance.now();
  }
  const ftpsS = ((uploadedAt || performance.now()) - t1) / 1000;
  const startS = (performance.now() - t1) / 1000;
  const afterSend = procStat(pid);
  clearInterval(timer);
  await sleep(2000);
  const after = procStat(pid);
  await stopServer(server);
  const stored = printer.ftps.files.get("bench-plate.gcode.3mf");
  await printer.close();
  rmSync(ws.dir, { recursive: true, force: true });

  const mb = fileSize / MB;
  const peakOf = (xs: number[]) => Math.max(idle.rssMb, ...xs) - idle.rssMb;
  results.push({
    scenario: `library: a ${f0(mb)} MB 3MF uploaded (multipart), then sent to a fake A1 (FTPS) and started`,
    figures: {
      "upload MB/s": f1(mb / uploadS),
      "FTPS MB/s": f1(mb / ftpsS),
      "send → started (s)": f1(startS),
      "CPU ms/MB (upload + send)": f2((afterSend.cpuMs - idle.cpuMs) / mb / 2),
      "RSS idle (MB)": f1(idle.rssMb),
      "RSS peak over idle, upload/send (MB)": [samples.slice(0, uploadSamples), samples.slice(uploadSamples)]
        .map((xs) => f1(peakOf(xs)))
        .join("/"),
      "RSS after upload / after send / 2 s later (MB)": [afterUpload, afterSend, after]
        .map((p) => f1(p.rssMb))
        .join("/"),
      "on the printer": status === "started" && stored?.size === fileSize ? "whole file, print started" : status,
    },
  });
}
