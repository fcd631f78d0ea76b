// The event bus's order: listeners subscribed with `first` hear an event before those subscribed with `on`.
import { describe, expect, test } from "bun:test";
import { createEventBus } from "../src/events.ts";
import type { JobRow } from "../src/store/store.ts";

const report = { printerId: 1, state: {} as never, changed: {}, source: "lan" as const };

describe("the event bus", () => {
  test("a listener subscribed with first hears an event before one subscribed earlier with on", () => {
    const bus = createEventBus();
    const heard: string[] = [];
    bus.on("printerState", () => heard.push("on"));
    bus.first("printerState", () => heard.push("first"));
    bus.emit("printerState", report);
    expect(heard).toEqual(["first", "on"]);
  });

  test("a consequence announced by an on listener is heard after what the first listener told of the cause", () => {
    const bus = createEventBus();
    const told: string[] = [];
    // As the job service: acting on the report announces a consequence at once.
    bus.on("printerState", () => bus.emit("job", { kind: "failed", job: {} as JobRow }));
    // As the notify rules: telling of the report and of the consequence.
    bus.on("job", ({ kind }) => told.push(`print_${kind}`));
    bus.first("printerState", () => told.push("hms_error"));
    bus.emit("printerState", report);
    expect(told).toEqual(["hms_error", "print_failed"]);
  });

  test("off removes a listener whichever way it subscribed", () => {
    const bus = createEventBus();
    const heard: string[] = [];
    const a = () => heard.push("first");
    const b = () => heard.push("on");
    bus.first("printerState", a);
    bus.on("printerState", b);
    bus.off("printerState", a);
    bus.off("printerState", b);
    bus.emit("printerState", report);
    expect(heard).toEqual([]);
  });
});
