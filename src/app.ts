// Owns assembly: builds the store, services, HTTP routes and Socket.IO on one Bun server from a config.
import { html } from "@elysiajs/html";
import { Elysia } from "elysia";
import { createTileRenderer } from "../views/render.ts";
import { createForwarding, forwardFarm } from "./cluster/forwarding.ts";
import { connectRedis, type RedisLink } from "./cluster/redis.ts";
import { createRelay } from "./cluster/relay.ts";
import { createRpc } from "./cluster/rpc.ts";
import type { Config } from "./config.ts";
import { createEventBus } from "./events.ts";
import { apiRoutes } from "./http/api.ts";
import { apiTokenRoutes } from "./http/api-tokens.ts";
import { assetRoutes } from "./http/assets.ts";
import { authRoutes } from "./http/auth.ts";
import { createRequestTools, type HttpDeps } from "./http/context.ts";
import { errorHandler } from "./http/errors.ts";
import { exportRoutes } from "./http/exports.ts";
import { healthRoutes } from "./http/health.ts";
import { historyRoutes } from "./http/history.ts";
import { jobsApiRoutes } from "./http/jobs-api.ts";
import { libraryApiRoutes } from "./http/library-api.ts";
import { libraryPageRoutes } from "./http/library-pages.ts";
import { metricsRoutes } from "./http/metrics.ts";
import { pageRoutes } from "./http/pages.ts";
import { printerActionRoutes } from "./http/printer-actions.ts";
import { printersApiRoutes } from "./http/printers-api.ts";
import { pushRoutes } from "./http/push.ts";
import { queueApiRoutes } from "./http/queue-api.ts";
import { queuePageRoutes } from "./http/queue-pages.ts";
import { securityHeaders } from "./http/security.ts";
import { sendsApiRoutes } from "./http/sends-api.ts";
import { settingsRoutes } from "./http/settings.ts";
import { settingsNotifyRoutes } from "./http/settings-notify.ts";
import { settingsPrinterRoutes } from "./http/settings-printers.ts";
import { shareRoutes } from "./http/shares.ts";
import { spoolmanRoutes } from "./http/spoolman.ts";
import { statsRoutes } from "./http/stats.ts";
import { timelapseFileRoutes } from "./http/timelapse-files.ts";
import { tusRoutes } from "./http/tus.ts";
import { dictionary } from "./i18n.ts";
import {
  createHomeAssistantBridge,
  type HomeAssistantBridge,
  type HomeAssistantTimings,
} from "./integrations/home-assistant.ts";
import { createSpoolman, type Spoolman, type SpoolmanTimings } from "./integrations/spoolman.ts";
import type { CameraTimings } from "./lan/cameras.ts";
import { createLan } from "./lan/lan.ts";
import type { LanTimings } from "./lan/printer-link.ts";
import { createLogger, type Logger, withSink } from "./log.ts";
import { createNotifier, type NotifyTimings } from "./notify/notifier.ts";
import { createPushService } from "./notify/push.ts";
import { createNotifyRules, type RuleTimings } from "./notify/rules.ts";
import { createSocketServer, MAX_SOCKET_MESSAGE_BYTES } from "./realtime/socket.ts";
import { createApiTokenService } from "./services/api-tokens.ts";
import { createAuthService } from "./services/auth.ts";
import { createBackups } from "./services/backups.ts";
import { createDatabaseHealth } from "./services/database-health.ts";
import { createDeviceTokenService } from "./services/device-tokens.ts";
import { createEventLog } from "./services/event-log.ts";
import { createExports } from "./services/exports.ts";
import { createIntervalService } from "./services/intervals.ts";
import { createJobService } from "./services/jobs.ts";
import { createLeases, instanceId, type LeaseTimings } from "./services/leases.ts";
import { createLibrary } from "./services/library.ts";
import { createLoginLimiter, createRedisLoginLimiter } from "./services/login-limiter.ts";
import { createMetrics } from "./services/metrics.ts";
import { createPrinterControl } from "./services/printer-control.ts";
import { createPrinterService } from "./services/printers.ts";
import { createQueueService } from "./services/queue.ts";
import { createFlightRecorder } from "./services/recorder.ts";
import { createRetention } from "./services/retention.ts";
import { createSendService, type SendTimings } from "./services/sends.ts";
import { createShareService } from "./services/shares.ts";
import { createStatsService, describeWarning, ROOM_NOW_MS } from "./services/stats.ts";
import { createStorageSummary } from "./services/storage.ts";
import { createTelemetryService } from "./services/telemetry.ts";
import { createTimelapseService, resolveMediaDir } from "./services/timelapses.ts";
import { createUserService } from "./services/users.ts";
import { type AsyncStore, asyncSqliteStore, type StoreWriteQueue } from "./store/async-store.ts";
import { backupPostgres, backupSqliteInWorker } from "./store/backup.ts";
import { explainPostgres } from "./store/copy.ts";
import { openDatabase, StoreOpenError } from "./store/db.ts";
import { createPgStore } from "./store/pg/store.ts";
import { createPgWriteQueue } from "./store/pg/write-queue.ts";
import { openPostgres } from "./store/pg.ts";
import { pgMigrate } from "./store/pg-migrate.ts";
import { sqliteStoreWriteQueue } from "./store/sqlite-write-queue.ts";
import { createStore, type Intervals, type Store } from "./store/store.ts";
import { COMMIT, VERSION } from "./version.ts";

/** A device is stale once nothing came for 3x its longest interval (at least 30 s). */
const staleAfter = (i: Intervals) => Math.max(30, 3 * Math.max(i.image_delay, i.temphum_delay, i.status_delay)) * 1000;

/** How long start-up waits for Redis before it goes on without it. */
const REDIS_START_WAIT_MS = 3000;

export type AppHandle = Awaited<ReturnType<typeof createApp>>;
export { MAX_HTTP_BODY_BYTES } from "./http/security.ts";

/** Timings tests shorten; production uses the defaults. */
export type AppOptions = {
  log?: Logger;
  lanTimings?: Partial<LanTimings>;
  cameraTimings?: Partial<CameraTimings>;
  notifyTimings?: Partial<NotifyTimings>;
  ruleTimings?: Partial<RuleTimings>;
  deviceStaleMs?: number;
  leaseTimings?: Partial<LeaseTimings>;
  sendTimings?: Partial<SendTimings>;
  queueTickMs?: number;
  homeAssistantTimings?: Partial<HomeAssistantTimings>;
  spoolmanTimings?: Partial<SpoolmanTimings>;
  /** This instance's name among several (else LAYERWATCH_INSTANCE_NAME, else the host name). */
  instanceName?: string;
};

/**
 * The database: SQLite at database_uri (the default, group commit as ever), or PostgreSQL at database_url
 * (migrated first; instances starting together migrate once). `sqlite` is the SQLite store itself, or null.
 */
async function openStore(
  config: Config,
  log: Logger,
): Promise<{ store: AsyncStore; writes: StoreWriteQueue; sqlite: Store | null }> {
  const zone = config.timezone;
  if (config.database_url) {
    const sql = openPostgres(config.database_url);
    try {
      await pgMigrate(sql, { zone });
    } catch (err) {
      await sql.close();
      throw new StoreOpenError(explainPostgres(config.database_url, err));
    }
    return { store: createPgStore(sql, { zone }), writes: createPgWriteQueue(sql, { zone }), sqlite: null };
  }
  const sqlite = createStore(openDatabase(config.database_uri, { zone, log }), { zone });
  return { store: asyncSqliteStore(sqlite), writes: sqliteStoreWriteQueue(sqlite), sqlite };
}

export async function createApp(config: Config, opts: AppOptions = {}) {
  const startedAt = Date.now();
  const zone = config.timezone;

  // Storage and the log that also keeps warnings for the admin.
  const baseLog = opts.log ?? createLogger();
  const { store, writes, sqlite } = await openStore(config, baseLog);
  /** Frees SQLite's page cache (the memory trim after start); nothing to do on PostgreSQL. */
  const shrinkMemory = () => sqlite?.db.run("PRAGMA shrink_memory");
  const eventLog = createEventLog(store);
  const log = withSink(baseLog, eventLog.record);
  const events = createEventBus();
  // Leases: what exactly one instance does (each printer's link, housekeeping); all held at once on SQLite.
  const instance = instanceId(opts.instanceName ?? process.env.LAYERWATCH_INSTANCE_NAME);
  log.info("instance", { id: instance, engine: store.engine });
  const leases = createLeases({ store, log, instance, timings: opts.leaseTimings });
  const HOUSEKEEPING = "housekeeping";
  /** One instance talks to Home Assistant's broker (one availability, one last will, each command done once). */
  const HOME_ASSISTANT = "home-assistant";
  const SPOOLMAN = "spoolman";
  const printerLease = (id: number) => `printer:${id}`;

  // Services: the rules, free of HTTP and sockets.
  const auth = createAuthService({ store, events, log });
  const users = createUserService({ store, events, log });
  await users.ensureAdmin(config.web_username, config.web_password);
  const imageRetention = config.image_retention;
  const telemetry = createTelemetryService({ store, writes, events, imageRetention, zone });
  const intervals = await createIntervalService({ store, events });
  const deviceTokens = createDeviceTokenService({ store, events, log });
  const apiTokens = createApiTokenService({ store, log });
  const retention = createRetention({
    store,
    log,
    rawRetentionDays: config.raw_retention_days,
    mine: () => leases.holds(HOUSEKEEPING),
  });
  // The daily backup (backup_dir): SQLite copied in a worker thread, PostgreSQL into an SQLite file.
  const backups = config.backup_dir
    ? createBackups({
        dir: resolveMediaDir(config.backup_dir, config.database_uri),
        keep: config.backup_keep,
        log,
        mine: () => leases.holds(HOUSEKEEPING),
        backup: (path) =>
          config.database_url
            ? backupPostgres(config.database_url, path, { zone, log: baseLog })
            : backupSqliteInWorker(config.database_uri, path),
      })
    : null;
  const deviceStaleAfter = () => opts.deviceStaleMs ?? staleAfter(intervals.get());
  const printers = await createPrinterService({ store, events, log, deviceStaleAfter });
  await printers.syncConfig(config.printers);
  await telemetry.refresh(printers.list().map((p) => p.info.id));
  /** A printer with a LAN address is this instance's when it holds the printer's lease; one without is anyone's. */
  const ownsPrinter = (id: number) => !printers.get(id)?.info.host || leases.holds(printerLease(id));
  const jobs = await createJobService({
    store,
    writes,
    events,
    log,
    printers,
    owns: ownsPrinter,
    // A LAN printer's job writes carry its lease: a holder that lost it while frozen writes nothing.
    fence: (id) => (printers.get(id)?.info.host ? leases.fence(printerLease(id)) : null),
  });
  const stats = createStatsService({ store, events, log, zone, printerName: (id) => printers.get(id)?.info.name });
  await stats.load(printers.list().map((p) => p.info.id));
  // Timelapse videos (tus uploads from camera Pis), on disk in media_dir.
  const mediaDir = resolveMediaDir(config.media_dir, config.database_uri);
  const timelapses = createTimelapseService({
    store,
    events,
    log,
    mediaDir,
    quotaBytes: config.media_quota_bytes,
    maxUploadBytes: config.max_upload_bytes,
  });
  // Notifications: rules turn events into messages; the notifier queues and delivers them.
  const push = await createPushService({ store, log, subject: config.public_url || "mailto:layerwatch@localhost" });
  const notifier = createNotifier({
    store,
    log,
    telegramApiRoot: config.telegram_api_root,
    image: async (frameId) => (await telemetry.frame(frameId)) ?? null,
    webpush: push.send,
    hasPushSubscribers: async () => (await push.subscriptions()) > 0,
    instance,
    timings: opts.notifyTimings,
  });
  await notifier.syncConfig(config.notify);
  const rules = createNotifyRules({
    events,
    printers,
    raise: notifier.raise,
    latestFrame: (id) => telemetry.latest(id).frame?.id ?? null,
    currentJob: jobs.current,
    limits: printers.limits,
    // Notifications are written in English, as their other text is.
    roomWarning: (id) => {
      const r = telemetry.latest(id).reading;
      const w = r && Date.now() - r.recorded_at < ROOM_NOW_MS ? stats.roomWarningNow(id, r) : null;
      return w ? describeWarning(w, dictionary("en").roomWarningText) : null;
    },
    publicUrl: config.public_url,
    timings: opts.ruleTimings,
  });

  // Edges: Socket.IO for devices and live pages, HTTP for pages and the API.
  const serverView = { t: dictionary(config.locale), locale: config.locale, zone };
  const render = createTileRenderer(serverView, intervals.get, { printers, telemetry });
  const { io, engine, hub } = createSocketServer({
    auth,
    deviceTokens,
    telemetry,
    events,
    log,
    render,
    intervals: intervals.get,
    printers,
    options: {
      allowedOrigins: config.allowed_origins.split(",").flatMap((o) => (o.trim() ? [o.trim()] : [])),
      trustProxy: config.trust_proxy,
      deviceRateLimit: config.device_rate_limit,
    },
  });
  const lan = createLan({
    printers,
    telemetry,
    events,
    log,
    watched: hub.watched,
    cameraDevice: (id) => deviceTokens.loginDevice(id),
    imageDelayMs: () => intervals.get().image_delay * 1000,
    owns: ownsPrinter,
    timings: opts.lanTimings,
    ffmpegPath: config.ffmpeg_path,
    cameraTimings: opts.cameraTimings,
  });
  /** Wants the lease of each printer with a LAN address: its holder runs the link and camera and keeps its jobs. */
  function wantPrinter(id: number) {
    if (!printers.get(id)?.info.host) return void leases.drop(printerLease(id));
    leases.hold(printerLease(id), {
      gained: async () => {
        // Several instances: what is held of the printer came from another's link or a snapshot. One instance
        // (SQLite) keeps its last snapshot on show until the printer reports.
        if (store.engine === "postgres") printers.stateUnknown(id);
        await jobs.adopt(id);
        if (leases.holds(printerLease(id))) lan.own(id);
      },
      lost: () => {
        lan.release(id);
        jobs.release(id);
      },
    });
  }
  events.on("printersChanged", ({ printerId, removed }) => {
    if (removed) void leases.drop(printerLease(printerId));
    else wantPrinter(printerId);
  });
  const control = createPrinterControl({
    store,
    events,
    log,
    printers,
    lan,
    devices: { count: hub.devicesOf, ask: hub.askDevice },
  });
  // Home Assistant over MQTT (mqtt.url): nothing of it exists while the url is empty.
  const homeAssistant: HomeAssistantBridge | null = config.mqtt.url
    ? createHomeAssistantBridge({
        config: config.mqtt,
        events,
        log,
        printers,
        telemetry,
        currentJob: jobs.current,
        // Where the printer's link or camera Pi is (another instance, with Redis); `actions` is made below.
        act: (id, action, user) => actions.act(id, action, user),
        version: VERSION,
        publicUrl: config.public_url,
        instance,
        timings: opts.homeAssistantTimings,
      })
    : null;
  // Spoolman (spoolman_url): nothing of it exists while the url is empty.
  const spoolman: Spoolman | null = config.spoolman_url
    ? createSpoolman({
        url: config.spoolman_url,
        store,
        events,
        log,
        amsOf: (id) => printers.get(id)?.state.ams ?? null,
        timings: opts.spoolmanTimings,
      })
    : null;
  // Several instances (redis_url): events cross through Redis, login failures count on all. Without it no Redis
  // code runs at all.
  const redis: RedisLink | null = config.redis_url ? connectRedis(config.redis_url, log) : null;
  const relay = redis
    ? createRelay({
        redis,
        events,
        log,
        instance,
        printerIds: () => printers.list().map((p) => p.info.id),
        before: {
          printersChanged: ({ printerId, removed }) => printers.refresh(printerId, removed),
          printerLimits: ({ printerId }) => printers.refresh(printerId),
        },
        catchUp: async () => {
          await printers.refreshAll();
          await Promise.all([telemetry.refresh(printers.list().map((p) => p.info.id)), intervals.refresh()]);
        },
      })
    : null;
  // Printer actions go to the instance that can carry them (the link's holder, the camera Pi's instance).
  const rpc = redis ? createRpc({ redis, instance, log }) : null;
  const actions = rpc
    ? createForwarding({
        rpc,
        control,
        log,
        holderOf: (id) => leases.holder(printerLease(id)),
        onLan: (id) => !!printers.get(id)?.info.host,
        localDevices: hub.devicesOf,
      })
    : control;
  // Viewers that connect as soon as this instance listens should hear other instances' events from the first; a
  // Redis that does not answer soon does not hold up start (this instance serves its own devices meanwhile).
  if (redis && !(await redis.ready(REDIS_START_WAIT_MS)))
    log.warn("starting without Redis: other instances' events arrive once it answers");
  const dbHealthy = store.healthy;
  const databaseHealth = createDatabaseHealth({ store, log });
  const library = createLibrary({ store, log, mediaDir, maxBytes: config.library_max_mb * 1024 * 1024 });
  const sends = createSendService({
    store,
    events,
    log,
    printers,
    library,
    lan,
    currentJob: jobs.current,
    openJob: async (id) => (await jobs.openOf([id])).get(id) ?? null,
    timings: opts.sendTimings,
  });
  await sends.settleInterrupted();
  const queue = createQueueService({
    store,
    events,
    log,
    printers,
    sends,
    owns: ownsPrinter,
    tickMs: opts.queueTickMs,
  });
  // Sends, skips and plate confirmations go to the instance holding the printer's link, as actions do.
  const farm = rpc
    ? forwardFarm({
        rpc,
        sends,
        queue,
        log,
        holderOf: (id) => leases.holder(printerLease(id)),
        onLan: (id) => !!printers.get(id)?.info.host,
      })
    : { sends, queue };
  const deps: HttpDeps = {
    storage: createStorageSummary({ jobs, timelapses }),
    removeTimelapse: timelapses.remove,
    config,
    log,
    auth,
    users,
    telemetry,
    intervals,
    deviceTokens,
    apiTokens,
    eventLog,
    loginLimiter: redis ? createRedisLoginLimiter(redis, log) : createLoginLimiter(),
    printers,
    control: actions,
    jobs,
    library,
    sends: farm.sends,
    queue: farm.queue,
    shares: createShareService({ store, log }),
    stats,
    recorder: createFlightRecorder({ store, jobs }),
    notifier,
    push,
    lan,
    holderOf: (printerId: number) => leases.holder(printerLease(printerId)),
    cluster: { instance, database: databaseHealth.probe, redis: redis ? redis.status : null },
    devices: { connected: hub.deviceCount, ofPrinter: hub.devicesOf },
    startedAt,
    version: VERSION,
    dbHealthy,
  };
  const tools = createRequestTools(deps);
  const metrics = createMetrics({
    store,
    printers,
    telemetry,
    sockets: { all: () => io.sockets.sockets.size, devices: hub.deviceCount, ofPrinter: hub.devicesOf },
    storage: deps.storage,
    info: { version: VERSION, commit: COMMIT, instance },
    startedAt,
  });
  const exports = createExports({ store, log, zone, printerName: (id) => printers.get(id)?.info.name ?? "" });

  const app = new Elysia()
    // First, so no page hook runs for socket traffic.
    .all("/socket.io/*", ({ request, server }) => engine.handleRequest(request, server as never), { parse: "none" })
    .use(html({ contentType: "text/html; charset=utf-8" }))
    .use(securityHeaders(tools))
    .use(errorHandler(tools, log))
    .use(healthRoutes({ startedAt, engine: store.engine, dbHealthy, redisHealthy: redis ? redis.healthy : null }))
    .use(assetRoutes())
    .use(metricsRoutes({ config, log, metrics }, tools))
    .use(authRoutes(deps, tools))
    .use(printersApiRoutes(deps, tools))
    .use(tusRoutes({ ...deps, timelapses }, tools))
    .use(timelapseFileRoutes({ ...deps, timelapses }, tools))
    .use(jobsApiRoutes(deps, tools))
    .use(libraryApiRoutes(deps, tools))
    .use(sendsApiRoutes(deps, tools))
    .use(queueApiRoutes(deps, tools))
    .use(libraryPageRoutes(deps, tools))
    .use(queuePageRoutes(deps, tools))
    .use(shareRoutes({ ...deps, timelapses }, tools))
    .use(statsRoutes(deps, tools))
    .use(spoolmanRoutes({ ...deps, spoolman }, tools))
    .use(apiRoutes(deps, tools))
    .use(settingsRoutes(deps, tools))
    .use(apiTokenRoutes(deps, tools))
    .use(settingsPrinterRoutes(deps, tools))
    .use(printerActionRoutes(deps, tools))
    .use(settingsNotifyRoutes(deps, tools))
    .use(pushRoutes(deps, tools))
    .use(exportRoutes({ ...deps, exports }, tools))
    .use(historyRoutes(deps, tools))
    .use(pageRoutes(deps, tools));

  const { websocket, idleTimeout } = engine.handler();
  app.listen({
    hostname: config.host,
    port: config.port,
    reusePort: false,
    idleTimeout,
    websocket,
    // Socket.IO polling posts carry whole frames; the engine enforces the per-message limit itself. Library
    // uploads may be larger (security.ts keeps other bodies small; library-api.ts checks library_max_mb).
    maxRequestBodySize: Math.max(MAX_SOCKET_MESSAGE_BYTES, config.library_max_mb * 1024 * 1024) + 64 * 1024,
  } as Parameters<typeof app.listen>[0]);
  const server = app.server!;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;

  // Housekeeping: expired sessions hourly, raw readings past retention; by the housekeeping lease's holder only.
  leases.hold(HOUSEKEEPING);
  const pruneTimer = setInterval(
    () => {
      if (!leases.holds(HOUSEKEEPING)) return;
      auth.pruneExpired().catch((err) => log.error("pruning expired sessions failed", { error: err as Error }));
    },
    60 * 60 * 1000,
  );
  pruneTimer.unref?.();
  retention.start();
  // A printer whose certificate is not checked is one anyone on its network can pose as: said at every start.
  for (const p of printers.list())
    if (p.info.host && p.info.tls === "insecure")
      log.warn("printer TLS certificate not checked (tls: insecure): anyone on its network could pose as it", {
        printer: p.info.name,
        id: p.info.id,
      });
  backups?.start();
  // The leases first: on SQLite they are held at once, so the links start now, as ever.
  for (const p of printers.list()) wantPrinter(p.info.id);
  lan.start();
  if (homeAssistant) {
    leases.hold(HOME_ASSISTANT, {
      gained: () => {
        if (leases.holds(HOME_ASSISTANT)) homeAssistant.start();
      },
      lost: () => void homeAssistant.stop(),
    });
    // On SQLite the lease is held at once, with no `gained`.
    if (leases.holds(HOME_ASSISTANT)) homeAssistant.start();
  }
  // One instance reports to Spoolman (two would each take the filament off the spool).
  if (spoolman) {
    leases.hold(SPOOLMAN, {
      gained: () => {
        if (leases.holds(SPOOLMAN)) spoolman.start();
      },
      lost: () => void spoolman.stop(),
    });
    if (leases.holds(SPOOLMAN)) spoolman.start();
  }

  let stopped = false;
  return {
    url,
    port: server.port as number,
    /** The engine-neutral store the services use. */
    asyncStore: store,
    /** The SQLite store itself, for tests and tools that look into the file; not there on PostgreSQL. */
    get store(): Store {
      if (!sqlite) throw new Error("this app runs on PostgreSQL: use asyncStore");
      return sqlite;
    },
    printers,
    /** Readings, statuses and frames as reported, and each printer's newest. */
    telemetry,
    jobs,
    notifier,
    io,
    retention,
    /** The daily backup, or null without backup_dir. */
    backups,
    leases,
    log,
    shrinkMemory,
    /** This instance's Redis link (redis_url), or null. */
    redis,
    /** This instance's id: its leases and the events it relays carry it. */
    instance,
    /** The Home Assistant bridge (mqtt.url), or null. */
    homeAssistant,
    /** Spoolman (spoolman_url), or null. */
    spoolman,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(pruneTimer);
      databaseHealth.stop();
      await homeAssistant?.close();
      await spoolman?.stop();
      await retention.stop();
      await backups?.stop();
      lan.stop();
      queue.stop();
      sends.stop();
      rules.stop();
      notifier.stop();
      hub.stop();
      relay?.stop();
      rpc?.stop();
      await redis?.close();
      await app.stop(true);
      io.disconnectSockets(true);
      engine.close();
      await jobs.settled();
      await printers.stop();
      await writes.flush();
      // Let go once everything is written: another instance takes over at once, from what is stored.
      await leases.stop();
      await store.close();
    },
  };
}
