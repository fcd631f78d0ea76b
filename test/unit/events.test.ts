// The event bus's rule for other instances' events: only listeners subscribed with remote hear them, told so.
import { expect, test } from "bun:test";
import { createEventBus } from "../../src/events.ts";

const job = { printerId: 1, removed: false };

test("a listener without remote hears this instance's events only", () => {
  const events = createEventBus();
  const heard: boolean[] = [];
  events.on("printersChanged", (_, remote) => heard.push(remote));
  events.first("printersChanged", (_, remote) => heard.push(remote));
  events.emitRemote("printersChanged", job);
  expect(heard).toEqual([]);
  events.emit("printersChanged", job);
  expect(heard).toEqual([false, false]);
});

test("a listener with remote hears both, each marked", () => {
  const events = createEventBus();
  const heard: boolean[] = [];
  events.on("printersChanged", (_, remote) => heard.push(remote), { remote: true });
  events.emit("printersChanged", job);
  events.emitRemote("printersChanged", job);
  expect(heard).toEqual([false, true]);
});

test("off removes a listener subscribed with remote", () => {
  const events = createEventBus();
  const heard: boolean[] = [];
  const fn = (_: unknown, remote: boolean) => heard.push(remote);
  events.on("printersChanged", fn, { remote: true });
  events.off("printersChanged", fn);
  events.emitRemote("printersChanged", job);
  events.emit("printersChanged", job);
  expect(heard).toEqual([]);
});
