// A viewer that stops reading must not build a backlog on the server: it is skipped and gets newer frames.
import { expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { collect, emitWithAck, fakeJpeg, settled, until } from "./helpers.ts";
import { rawViewer } from "./raw-viewer.ts";

const fx = useApp({ config: { device_rate_limit: 0, image_retention: 5 } });

test("a viewer that stops reading is skipped, not queued, and gets the newest frame once it reads again", async () => {
  const slow = await rawViewer(fx.app.port, fx.cookie);
  fx.track({ disconnect: () => slow.tcp.destroy() });
  await slow.joined;
  const device = await fx.client();
  const fast = await fx.client();
  const fastFrames = collect<{ id: number }>(fast, "image2v");
  slow.tcp.pause(); // stop reading: the kernel buffers fill, then the server's

  const sent: number[] = [];
  for (let i = 0; i < 80; i++)
    sent.push((await emitWithAck<{ id: number }>(device, "image", { image: Buffer.from(fakeJpeg(200 * 1024, i)) })).id);
  await until(
    () => fastFrames.length,
    (n) => n >= 80,
  );
  expect(fastFrames.length).toBe(80);

  slow.tcp.resume();
  // Bounded: it has read all it will get once nothing more comes for 300 ms (what was skipped never comes).
  const beforeLast = await settled(() => slow.received().length, 300);
  // Far fewer than 80 reached the stalled viewer: the rest were skipped, not queued in memory.
  expect(beforeLast).toBeLessThan(60);
  expect(beforeLast).toBeGreaterThan(0);

  const last = (await emitWithAck<{ id: number }>(device, "image", { image: Buffer.from(fakeJpeg(200 * 1024, 99)) }))
    .id;
  await until(slow.received, (r) => r.includes(last), 1000);
  expect(slow.received().at(-1)).toBe(last);
  console.log(`stalled viewer got ${beforeLast} of 80 frames while not reading, then the newest at once`);
}, 60000);
