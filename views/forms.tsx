/** @jsxImportSource @kitajs/html */
// Owns the small pieces forms share: the flash message, the CSRF field, and an action's answer shown in place.
import type { ViewContext } from "./context.ts";

export type Flash = { kind: "ok" | "error"; text: string };

export function FlashMessage(props: { flash?: Flash }) {
  return props.flash ? (
    <p class={`flash ${props.flash.kind}`} role={props.flash.kind === "error" ? "alert" : "status"} safe>
      {props.flash.text}
    </p>
  ) : (
    ""
  );
}

export const Csrf = (props: { ctx: ViewContext }) => <input type="hidden" name="_csrf" value={props.ctx.csrf ?? ""} />;

/** A one-line answer shown in place of a button's result. */
export const Answer = (props: { kind: "ok" | "error"; text: string }) => (
  <span class={`flash ${props.kind}`} safe>
    {props.text}
  </span>
);
