// Owns CSV as layerwatch writes it: RFC 4180 (comma, CRLF, a field quoted when it holds a quote, comma, CR or LF, its
// quotes doubled), and text that a spreadsheet would run as a formula made inert. Pure: no I/O.

export type Cell = string | number | null | undefined;

/** What starts a formula in Excel, LibreOffice or Google Sheets (OWASP's list): `= + - @`, tab, CR. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One field. Text starting like a formula is prefixed with `'` and quoted (the spreadsheet then shows it as text);
 * numbers are our own and written as numbers (a negative temperature stays a number); null and undefined are empty.
 */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (FORMULA_START.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One record, ended by CRLF. */
export const csvRow = (cells: readonly Cell[]) => `${cells.map(csvCell).join(",")}\r\n`;
