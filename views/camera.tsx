/** @jsxImportSource @kitajs/html */
// Owns what a printer page says about the printer's own camera when it is not streaming: why (the LAN Only
// Liveview switch, a missing ffmpeg and how to install it, ...), as the camera module put it.
import type { HeldPrinter } from "../src/services/printers.ts";
import type { ViewContext } from "./context.ts";

export function CameraNotice(props: { printer: HeldPrinter; ctx: ViewContext }) {
  const { info, lan } = props.printer;
  if (!info.host || !info.camera || !lan.camera_error) return "";
  return (
    <p class="camera-error" role="status" safe>
      {`${props.ctx.t.cameraPrinter}: ${lan.camera_error}`}
    </p>
  );
}
