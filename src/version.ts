// Owns the version string; the build bakes in the commit (bun build --define LAYERWATCH_COMMIT=...).
import pkg from "../package.json" with { type: "json" };

declare const LAYERWATCH_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof LAYERWATCH_COMMIT === "string" ? LAYERWATCH_COMMIT : "dev";
